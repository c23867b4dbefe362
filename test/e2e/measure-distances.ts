/**
 * Measures how long the Distances screen takes to draw a 200-run experiment
 * (19,900 pairs) in headless Chromium against a real `seedscope serve`.
 * Pair metrics are synthetic and written with the analysis store functions,
 * so no training runs; everything after the database is the real app.
 *
 *   npx tsx test/e2e/measure-distances.ts [runs]
 *
 * Prints one line per measurement. Not part of `npm test`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { classicalMds } from '../../core/analysis/mds';
import { writeStepResults } from '../../core/analysis/store';
import { repositoryRoot } from '../../core/paths';
import { Service } from '../../core/service';

const runCount = Number(process.argv[2] ?? 200);
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'seedscope-measure-'));
const dbPath = path.join(folder, 'measure.db');

/** Creates the experiment and writes synthetic distances: runs of one optimizer cluster together. */
async function seedDatabase(): Promise<number> {
  const service = Service.open({ dbPath });
  const { id } = await service.createExperiment({
    name: `${runCount} runs`,
    model: { contextLength: 8, dModel: 16, nHeads: 2, nLayers: 1, dMlp: 32 },
    training: { steps: 10 },
    optimizers: [{ kind: 'adam' }, { kind: 'sgd' }],
    seeds: { count: runCount / 2 },
    checkpoints: { steps: [10] },
  });
  const db = service.store.db;
  db.prepare("UPDATE runs SET status = 'done', step = total_steps WHERE experiment_id = ?").run(id);
  db.prepare("UPDATE experiments SET status = 'done' WHERE id = ?").run(id);
  const runIds = (db.prepare('SELECT id FROM runs WHERE experiment_id = ? ORDER BY id').all(id) as Array<{ id: number }>).map((row) => row.id);

  const pairValues = [];
  const weights = runIds.map(() => new Array<number>(runIds.length).fill(0));
  for (let i = 0; i < runIds.length; i += 1) {
    for (let j = i + 1; j < runIds.length; j += 1) {
      const cross = i < runCount / 2 !== j < runCount / 2;
      const l2 = (cross ? 30 : 10) + Math.abs(Math.sin(i * 7 + j * 13)) * 5;
      weights[i]![j] = l2;
      weights[j]![i] = l2;
      pairValues.push({ runA: runIds[i]!, runB: runIds[j]!, metric: 'l2', value: l2 });
      pairValues.push({ runA: runIds[i]!, runB: runIds[j]!, metric: 'symmetricKl', value: (cross ? 0.2 : 0.1) + Math.abs(Math.cos(i * 3 + j)) * 0.05 });
    }
  }
  const { coordinates } = classicalMds(weights);
  writeStepResults(db, id, 10, pairValues, [{ kind: 'mds', subject: '', payload: { groups: [{ runIds, spaces: { weight: { metric: 'l2', coordinates } } }] } }]);
  await service.close();
  return id;
}

async function main(): Promise<void> {
  const experimentId = await seedDatabase();
  const serve = spawn(process.execPath, [path.join(repositoryRoot, 'bin', 'seedscope.mjs'), '--db', dbPath, 'serve', '--workers', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => {
    let stdout = '';
    serve.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /serving at (\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
  });

  const context = await chromium.launchPersistentContext(path.join(folder, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu', '--headless'],
    viewport: { width: 1440, height: 1000 },
  });
  const page = await context.newPage();
  const pairs = (runCount * (runCount - 1)) / 2;

  const started = Date.now();
  await page.goto(`${url}#/experiments/${experimentId}/distances`);
  await page.waitForFunction((expected) => Number(document.querySelector('[data-chart^="weight-vs-function"]')?.getAttribute('data-points')) === expected, pairs, { timeout: 120_000 });
  const scatterMs = Date.now() - started;
  await page.waitForFunction(() => document.querySelectorAll('[data-chart^="heatmap-"]').length === 2, undefined, { timeout: 120_000 });
  const heatmapsMs = Date.now() - started;

  // A theme switch rebuilds and redraws every chart on the screen.
  const switchStarted = Date.now();
  await page.keyboard.press('Alt+T');
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  const redrawMs = Date.now() - switchStarted;

  console.log(`runs=${runCount} pairs=${pairs} scatterMs=${scatterMs} heatmapsMs=${heatmapsMs} themeRedrawMs=${redrawMs} cpus=${os.cpus().length} model=${JSON.stringify(os.cpus()[0]?.model ?? '')}`);

  await context.close();
  serve.kill('SIGTERM');
  await new Promise((resolve) => serve.once('exit', resolve));
  fs.rmSync(folder, { recursive: true, force: true });
}

await main();
