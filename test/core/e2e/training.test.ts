/**
 * End-to-end tests with real worker processes (worker/main.ts) training tiny
 * models on the cpu backend, so that they stay quick on a loaded 2-core machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Scheduler } from '../../../core/scheduler/scheduler';
import { expandSweep, parseSweepSpec, type SweepSpecInput } from '../../../core/spec';
import { Store } from '../../../core/store/store';
import { runCliProcess, startCli, waitForOutput } from '../helpers/cli';
import { tempDatabasePath, tempFolder, tinySpec } from '../helpers/temp';

const realSpec = (overrides: Partial<SweepSpecInput> = {}) =>
  tinySpec({ training: { steps: 60, batchSize: 4, logEvery: 5, validationSize: 8 }, checkpoints: { steps: [20, 40] }, ...overrides });

function weightHashes(dbPath: string, experimentId = 1): Array<string | null> {
  const store = Store.open(dbPath);
  const hashes = store.listRuns(experimentId).map((run) => run.weightsSha256);
  store.close();
  return hashes;
}

function writeSpec(folder: string, spec: SweepSpecInput): string {
  const file = path.join(folder, 'spec.json');
  fs.writeFileSync(file, JSON.stringify(spec));
  return file;
}

const stores: Store[] = [];
afterEach(() => {
  while (stores.length > 0) stores.pop()!.close();
});

describe('real sweep', { timeout: 120_000 }, () => {
  it('trains a tiny sweep through the CLI', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'real.db');

    const result = await runCliProcess(['run', writeSpec(folder, realSpec()), '--db', db, '--workers', '2']);

    expect(result.code).toBe(0);
    const store = Store.open(db);
    stores.push(store);
    const runs = store.listRuns(1);
    expect(runs.map((run) => run.status)).toEqual(['done', 'done', 'done', 'done']);
    for (const run of runs) {
      expect(Number.isFinite(run.finalTrainLoss)).toBe(true);
      expect(run.backend).not.toBeNull();
    }
    expect(store.listCheckpoints(runs[0]!.id).map((checkpoint) => checkpoint.step)).toEqual([20, 40, 60]);
    expect(store.getRunMetrics(1, ['trainLoss'])[0]!.steps).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]);
    // Same seeds and settings give the same weights: runs 0 and 1 differ by seed, sgd and adam differ by optimizer.
    expect(new Set(runs.map((run) => run.weightsSha256)).size).toBe(4);

    // The pair distances are computed as runs finish: 4 runs give 6 pairs per step and metric.
    const exported = await runCliProcess(['export', '1', '--what', 'pairs', '--format', 'json', '--db', db]);
    const pairs = JSON.parse(exported.stdout) as Array<{ step: number; metric: string }>;
    const counts = new Map<string, number>();
    for (const pair of pairs) counts.set(`${pair.step}:${pair.metric}`, (counts.get(`${pair.step}:${pair.metric}`) ?? 0) + 1);
    expect(new Set(pairs.map((pair) => pair.step))).toEqual(new Set([20, 40, 60]));
    expect(new Set(counts.values())).toEqual(new Set([6]));
    expect(new Set(pairs.map((pair) => pair.metric))).toContain('symmetricKl');
    expect(new Set(pairs.map((pair) => pair.metric))).toContain('alignedL2');
  });

  it('resumes after a worker is killed to identical weights', async () => {
    const spec = realSpec({ optimizers: [{ kind: 'adam' }], seeds: { count: 1 } });
    const reference = tempDatabasePath();
    expect((await runCliProcess(['run', writeSpec(tempFolder(), spec), '--db', reference, '--workers', '1'])).code).toBe(0);

    const parsed = parseSweepSpec(spec);
    if (!parsed.ok) throw new Error('invalid spec');
    const store = Store.open(tempDatabasePath());
    stores.push(store);
    const experimentId = store.insertExperiment(parsed.spec, expandSweep(parsed.spec));
    const scheduler = new Scheduler(store, { workers: 1, pollIntervalMs: 200 });
    let killed = 0;
    scheduler.on('runProgress', (event) => {
      if (killed > 0 || event.step < 25 || store.listCheckpoints(event.runId).length === 0) return;
      killed = scheduler.workerPids()[0]!;
      process.kill(killed, 'SIGKILL');
    });

    const idle = new Promise<void>((resolve) => scheduler.once('idle', resolve));
    scheduler.start();
    await idle;
    await scheduler.stop();

    const run = store.listRuns(experimentId)[0]!;
    expect(killed).toBeGreaterThan(0);
    expect(run.status).toBe('done');
    expect(run.attempts).toBe(2);
    expect(store.getRunLog(run.id).some((line) => /resuming from checkpoint at step (20|40)/.test(line.message))).toBe(true);
    expect(run.weightsSha256).toBe(weightHashes(reference)[0]);
  });

  it('resumes after the CLI is killed to identical weights', async () => {
    const folder = tempFolder();
    const specFile = writeSpec(folder, realSpec());
    const reference = path.join(folder, 'reference.db');
    expect((await runCliProcess(['run', specFile, '--db', reference, '--workers', '2'])).code).toBe(0);

    const db = path.join(folder, 'killed.db');
    const cli = startCli(['run', specFile, '--db', db, '--workers', '2']);
    await waitForOutput(cli, /: done/);
    cli.child.kill('SIGKILL');
    await cli.done;
    const interrupted = Store.open(db);
    const statuses = interrupted.listRuns(1).map((run) => run.status);
    interrupted.close();
    expect(statuses).toContain('running');

    const resumed = await runCliProcess(['resume', '1', '--db', db, '--workers', '2']);

    expect(resumed.code).toBe(0);
    expect(weightHashes(db)).toEqual(weightHashes(reference));
  });
});
