/**
 * End to end in Debian's Chromium against a real `seedscope serve`: a fresh
 * temporary database, real training workers and the real analysis worker.
 * Launches a small sweep from the New sweep form, follows it to the end,
 * checks the Distances scatter and saves a screenshot of every screen under
 * test-results/e2e/.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../core/paths';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.join(repositoryRoot, 'test-results', 'e2e');
const run = promisify(execFile);

let folder = '';
let serve: ChildProcess | null = null;
let serveLog = '';
let context: BrowserContext | null = null;
let url = '';

/** Starts `seedscope serve` and resolves with the URL it prints. */
function startServe(dbPath: string, rendererDir: string): Promise<string> {
  const child = spawn(process.execPath, [path.join(repositoryRoot, 'bin', 'seedscope.mjs'), '--db', dbPath, 'serve', '--port', '0', '--workers', '2', '--renderer-dir', rendererDir], {
    cwd: repositoryRoot,
    env: { ...process.env, SEEDSCOPE_LOG: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  serve = child;
  child.stderr!.on('data', (chunk: Buffer) => (serveLog += chunk.toString()));

  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /serving at (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`seedscope serve exited with code ${code} before printing its URL:\n${serveLog}`)));
  });
}

async function stopServe(): Promise<void> {
  const child = serve;
  if (child === null || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the chart named by the prefix contains `count` data items, as ECharts reports them. */
async function waitForChartPoints(page: Page, prefix: string, count: number, timeout: number): Promise<void> {
  await page.waitForFunction(
    ([chartPrefix, expected]) => {
      const element = document.querySelector(`[data-chart^="${chartPrefix}"]`);
      return element !== null && Number(element.getAttribute('data-points')) === expected;
    },
    [prefix, count] as const,
    { timeout },
  );
}

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'seedscope-e2e-'));
  fs.mkdirSync(SCREENSHOTS, { recursive: true });

  const buildDir = path.join(folder, 'build');
  await run(process.execPath, [path.join(repositoryRoot, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build', '--outDir', buildDir, '--logLevel', 'warn'], { cwd: repositoryRoot });
  url = await startServe(path.join(folder, 'e2e.db'), path.join(buildDir, 'renderer'));

  context = await chromium.launchPersistentContext(path.join(folder, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu', '--headless'],
    viewport: { width: 1440, height: 900 },
    colorScheme: 'light',
  });
}, 240_000);

afterAll(async () => {
  await context?.close();
  await stopServe();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
}, 60_000);

describe('desktop app in Chromium', () => {
  it('launches a sweep and shows its distances', async () => {
    const page = await context!.newPage();
    const consoleErrors: string[] = [];
    const svelteWarnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
      if (message.type() === 'warning' && message.text().includes('svelte')) svelteWarnings.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));

    await page.goto(url);
    await page.getByRole('heading', { name: 'Experiments' }).waitFor();
    await page.getByText('No experiments yet').waitFor();
    await screenshot(page, '01-experiments-empty');

    // New sweep: 2 optimizers (adam, sgd) x 2 seeds = 4 runs of a tiny model.
    await page.getByRole('link', { name: 'New sweep' }).click();
    await page.locator('#spec-json').waitFor();
    await page.locator('#field-name').fill('e2e sweep');
    await page.locator('#field-task-vocabSize').fill('8');
    await page.locator('#model-preset').selectOption('tiny');
    await page.locator('#field-seeds-count').fill('2');
    await page.locator('#field-training-steps').fill('40');
    await page.locator('#field-training-logEvery').fill('5');
    await page.locator('#field-checkpoints-count').fill('3');
    await page.locator('#field-probeSize').fill('8');
    await page.locator('#field-concurrency').fill('2');

    // Live validation names the field at fault.
    await page.locator('#field-model-nHeads').fill('3');
    await page.getByTestId('spec-issues').getByText('model.nHeads').waitFor();
    await page.locator('#field-model-nHeads').fill('2');

    // A field the form does not show, edited in the JSON spec.
    const json = JSON.parse(await page.locator('#spec-json').inputValue()) as { training: Record<string, unknown> };
    json.training.validationSize = 16;
    await page.locator('#spec-json').fill(JSON.stringify(json, null, 2));
    await page.locator('#spec-json').blur();
    await page.getByTestId('run-count').filter({ hasText: '4 runs' }).waitFor();
    expect(await page.locator('#spec-json').inputValue()).toContain('"validationSize": 16');
    await screenshot(page, '02-new-sweep');

    await page.getByRole('button', { name: 'Launch sweep' }).click();
    await page.waitForURL(/#\/experiments\/\d+$/);
    await page.getByTestId('runs-table').waitFor();

    // Progress to the end: every run done and its bar full.
    await page.getByTestId('runs-finished').filter({ hasText: '4 / 4' }).waitFor({ timeout: 180_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('[data-run-id]')].every((row) => row.getAttribute('data-status') === 'done'), undefined, { timeout: 90_000 });
    const runCount = await page.locator('[data-run-id]').count();
    const bars = await page.locator('[role=progressbar]').evaluateAll((elements) => elements.map((element) => [element.getAttribute('aria-valuenow'), element.getAttribute('aria-valuemax')]));
    expect(runCount).toBe(4);
    expect(bars).toEqual(Array.from({ length: 4 }, () => ['40', '40']));
    await page.waitForFunction(() => Number(document.querySelector('[data-chart$="trainLoss"]')?.getAttribute('data-points') ?? 0) > 0, undefined, { timeout: 90_000 });
    await screenshot(page, '03-experiment-runs');

    // The metric menu offers every standard run metric by display name, not only the losses.
    const metricOptions = await page.getByTestId('run-metric').locator('option').allTextContents();
    expect(metricOptions).toEqual(expect.arrayContaining(['train loss', 'validation loss', 'true KL', 'gradient norm', 'learning rate']));

    await page.locator('[data-run-id]').first().getByRole('button', { name: 'Log' }).click();
    await page.getByTestId('run-log').waitFor();
    expect(await page.getByTestId('run-log').textContent()).not.toBe('');
    await page.locator('[data-run-id]').first().getByRole('button', { name: 'Log' }).click();

    // Distances: one point per pair of runs once the analysis worker has stored them.
    await page.getByRole('link', { name: 'Distances' }).click();
    await waitForChartPoints(page, 'weight-vs-function', (runCount * (runCount - 1)) / 2, 180_000);
    await page.waitForFunction(() => document.querySelectorAll('[data-chart^="heatmap-"]').length === 2, undefined, { timeout: 90_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-chart^="mds-"]').length > 0, undefined, { timeout: 90_000 });
    await page.locator('[data-chart^="distances-over-steps-"]').waitFor({ timeout: 30_000 });
    await screenshot(page, '04-distances');

    const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'PNG' }).first().click()]);
    expect(png.suggestedFilename()).toBe('weight-vs-function-step-40.png');
    expect(fs.readFileSync(await png.path()).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    await page.getByRole('link', { name: 'Consistency' }).click();
    const consistencyRows = page.getByTestId('consistency-table').locator('tbody tr');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="consistency-table"] tbody tr').length === 2 && !document.querySelector('[data-testid="consistency-table"] tbody')?.textContent?.includes('Loading'), undefined, { timeout: 90_000 });
    expect(await consistencyRows.count()).toBe(2);
    // One pair per optimizer: no interquartile range to show, so the IQR cells hold a dash.
    const functionIqr = await consistencyRows.evaluateAll((rows) => rows.map((row) => row.querySelectorAll('td')[4]?.textContent?.trim()));
    expect(functionIqr).toEqual(['—', '—']);
    await screenshot(page, '05-consistency');

    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'CSV' }).click()]);
    const csvLines = fs.readFileSync(await csv.path(), 'utf8').trim().split('\r\n');
    expect(csv.suggestedFilename()).toBe('e2e-sweep-consistency-step-40.csv');
    expect(csvLines[0]).toMatch(/^optimizer,runs,pairs,step,symmetricKlMedian,/);
    expect(csvLines.slice(1).map((line) => line.split(',').slice(0, 4))).toEqual(
      expect.arrayContaining([
        ['adam', '2', '1', '40'],
        ['sgd', '2', '1', '40'],
      ]),
    );

    await page.keyboard.press('Alt+T');
    await page.getByRole('link', { name: 'Distances' }).click();
    await waitForChartPoints(page, 'weight-vs-function', 6, 90_000);
    await page.locator('[data-chart^="distances-over-steps-"]').waitFor({ timeout: 30_000 });
    await screenshot(page, '06-distances-dark');

    // History: notes and tags, search, and delete with confirmation.
    await page.keyboard.press('Alt+E');
    await page.getByRole('link', { name: 'e2e sweep' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Notes').fill('first end-to-end sweep');
    await page.getByLabel('Tags (comma-separated)').fill('e2e, tiny');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.tag', { hasText: 'tiny' }).waitFor();
    await page.getByText('first end-to-end sweep').waitFor();
    await screenshot(page, '07-experiments-dark');

    // At 900 px the table scrolls inside its panel and the page itself does not get wider.
    await page.setViewportSize({ width: 900, height: 900 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(900);
    await page.getByRole('button', { name: 'Delete' }).scrollIntoViewIfNeeded();
    await screenshot(page, '08-experiments-narrow');

    await page.getByLabel('Search experiments').fill('no such sweep');
    await page.getByText('No experiment matches the search.').waitFor();
    await page.getByLabel('Search experiments').fill('tiny');
    await page.getByRole('link', { name: 'e2e sweep' }).waitFor();

    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('link', { name: 'e2e sweep' }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No experiments yet').waitFor();

    expect(consoleErrors).toEqual([]);
    expect(svelteWarnings).toEqual([]);
  }, 420_000);
});
