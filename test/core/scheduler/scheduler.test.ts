import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Scheduler, type SchedulerOptions } from '../../../core/scheduler/scheduler';
import { typescriptEntry } from '../../../core/scheduler/entry';
import { expandSweep, parseSweepSpec, type SweepSpecInput } from '../../../core/spec';
import { Store } from '../../../core/store/store';
import { tempDatabasePath, tempFolder, tinySpec } from '../helpers/temp';

const fakeWorker = path.resolve(import.meta.dirname, '../fixtures/fake-worker.ts');
const open: Array<{ store: Store; scheduler: Scheduler }> = [];

afterEach(async () => {
  while (open.length > 0) {
    const { store, scheduler } = open.pop()!;
    await scheduler.stop();
    store.close();
  }
});

function setUp(spec: SweepSpecInput, env: Record<string, string> = {}, options: SchedulerOptions = {}, dbPath = tempDatabasePath()) {
  const parsed = parseSweepSpec(spec);
  if (!parsed.ok) throw new Error(`invalid test spec: ${JSON.stringify(parsed.issues)}`);
  const store = Store.open(dbPath);
  const experimentId = store.insertExperiment(parsed.spec, expandSweep(parsed.spec));
  const scheduler = new Scheduler(store, { workers: 2, entry: typescriptEntry(fakeWorker, env), pollIntervalMs: 100, ...options });
  open.push({ store, scheduler });
  return { store, scheduler, experimentId };
}

async function runToIdle(scheduler: Scheduler): Promise<void> {
  const idle = new Promise<void>((resolve) => scheduler.once('idle', resolve));
  scheduler.start();
  await idle;
}

describe('Scheduler', () => {
  it('trains every queued run to done', async () => {
    const { store, scheduler, experimentId } = setUp(tinySpec());
    const progressRuns = new Set<number>();
    scheduler.on('runProgress', (event) => progressRuns.add(event.runId));

    await runToIdle(scheduler);

    const runs = store.listRuns(experimentId);
    expect(runs.map((run) => run.status)).toEqual(['done', 'done', 'done', 'done']);
    for (const run of runs) {
      expect(run.step).toBe(20);
      expect(run.attempts).toBe(1);
      expect(run.backend).toBe('cpu');
      expect(run.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(progressRuns.size).toBe(4);
    expect(store.getExperimentSummary(experimentId)!.status).toBe('done');

    const nonFinite = store.getRunMetrics(experimentId, ['opt.nonFinite'])[0]!;
    expect(nonFinite.values).toEqual([-Infinity, Number.NaN, -Infinity, Number.NaN]);
    expect(store.listCheckpoints(runs[0]!.id).map((checkpoint) => checkpoint.step)).toEqual([1, 4, 20]);
  });

  it('requeues a crashed run and resumes it to identical weights', async () => {
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 1 } });
    const reference = setUp(spec);
    await runToIdle(reference.scheduler);
    const expected = reference.store.listRuns(reference.experimentId)[0]!.weightsSha256;

    const marker = path.join(tempFolder(), 'crashed');
    const crashing = setUp(spec, { FAKE_CRASH_AT_STEP: '10', FAKE_CRASH_MARKER: marker });
    const requeued: string[] = [];
    crashing.scheduler.on('runRequeued', (event) => requeued.push(event.reason));
    await runToIdle(crashing.scheduler);

    const run = crashing.store.listRuns(crashing.experimentId)[0]!;
    expect(requeued).toHaveLength(1);
    expect(requeued[0]).toMatch(/exit code 3/);
    expect(run.status).toBe('done');
    expect(run.attempts).toBe(2);
    expect(run.weightsSha256).toBe(expected);
    expect(crashing.store.getRunLog(run.id).map((line) => line.message)).toContain('resuming from checkpoint at step 4 (attempt 2)');
  });

  it('fails a run once its attempts are used up', async () => {
    const marker = path.join(tempFolder(), 'crashed');
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 1 } });
    const { store, scheduler, experimentId } = setUp(spec, { FAKE_CRASH_AT_STEP: '3', FAKE_CRASH_MARKER: marker }, { maxAttempts: 1 });

    await runToIdle(scheduler);

    const run = store.listRuns(experimentId)[0]!;
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^failed after 1 attempts: worker exited without finishing \(exit code 3\)/);
    expect(store.getExperimentSummary(experimentId)!.status).toBe('failed');
  });

  it('kills a silent worker and fails after retries', async () => {
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 1 } });
    const { store, scheduler, experimentId } = setUp(spec, { FAKE_HANG_AT_STEP: '5' }, { heartbeatTimeoutMs: 400, maxAttempts: 2 });

    await runToIdle(scheduler);

    const run = store.listRuns(experimentId)[0]!;
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(2);
    expect(run.error).toMatch(/worker sent nothing for \d+ s and was killed/);
  });

  it('fails a run whose worker reports an error', async () => {
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 2 } });
    const { store, scheduler, experimentId } = setUp(spec, { FAKE_FAIL_RUN_ID: '1' });

    await runToIdle(scheduler);

    expect(store.listRuns(experimentId).map((run) => [run.status, run.error])).toEqual([
      ['failed', 'fake failure of run 1'],
      ['done', null],
    ]);
  });

  it('cancels running runs of an experiment', async () => {
    const spec = tinySpec({ training: { steps: 2000, logEvery: 10 } });
    const { store, scheduler, experimentId } = setUp(spec, { FAKE_STEP_MS: '5' });
    const ended: string[] = [];
    scheduler.on('runEnded', (event) => ended.push(event.status));
    scheduler.once('runProgress', () => {
      scheduler.cancelActive(store.cancelRuns({ experimentId }));
    });

    await runToIdle(scheduler);

    for (const run of store.listRuns(experimentId)) expect(run.status).toBe('cancelled');
    expect(ended.length).toBeGreaterThan(0);
    for (const status of ended) expect(status).toBe('cancelled');
  });

  it('notices a cancel written by another connection', async () => {
    const dbPath = tempDatabasePath();
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 1 }, training: { steps: 5000, logEvery: 10 } });
    const { store, scheduler, experimentId } = setUp(spec, { FAKE_STEP_MS: '5' }, {}, dbPath);
    scheduler.once('runProgress', () => {
      const other = Store.open(dbPath);
      other.cancelRuns({ experimentId });
      other.close();
    });

    await runToIdle(scheduler);

    expect(store.listRuns(experimentId)[0]!.status).toBe('cancelled');
    expect(store.listRuns(experimentId)[0]!.step).toBeLessThan(5000);
  });

  it('requeues runs left running by a dead process', async () => {
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 1 } });
    const { store, scheduler, experimentId } = setUp(spec);
    const orphan = store.claimNextRun({ pid: 2 ** 22 + 12345, host: os.hostname() })!;

    await runToIdle(scheduler);

    const run = store.getRun(orphan.id)!;
    expect(run.status).toBe('done');
    expect(run.attempts).toBe(2);
    expect(store.getRunLog(run.id)[0]!.message).toMatch(/was interrupted/);
    expect(store.getExperimentSummary(experimentId)!.status).toBe('done');
  });

  it('completes a run whose final checkpoint is committed', async () => {
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 1 } });
    const { store, scheduler } = setUp(spec);
    const orphan = store.claimNextRun({ pid: 2 ** 22 + 12345, host: os.hostname() })!;
    const finalStep = orphan.totalSteps;
    store.recordMetrics(orphan.id, [
      { step: finalStep, name: 'trainLoss', value: 1.25 },
      { step: finalStep, name: 'validationLoss', value: 1.5 },
    ]);
    const weights = new Uint8Array([1, 2, 3]);
    store.commitCheckpoint(orphan.id, {
      step: finalStep,
      weights,
      optimizerState: new Uint8Array(),
      trainerState: {},
      probeLogProbs: new Uint8Array(),
    });
    let workersStarted = 0;
    scheduler.on('runStarted', () => (workersStarted += 1));

    await runToIdle(scheduler);

    const run = store.getRun(orphan.id)!;
    expect(run.status).toBe('done');
    expect(workersStarted).toBe(0);
    expect(run.finalTrainLoss).toBe(1.25);
    expect(run.finalValidationLoss).toBe(1.5);
    expect(run.weightsSha256).toBe(store.latestCheckpoint(orphan.id)!.weightsSha256);
  });

  it('leaves runs queued when stopped', async () => {
    const spec = tinySpec({ training: { steps: 5000, logEvery: 10 } });
    const { store, scheduler, experimentId } = setUp(spec, { FAKE_STEP_MS: '5' });
    const started = new Promise<void>((resolve) => scheduler.once('runProgress', () => resolve()));
    scheduler.start();
    await started;

    await scheduler.stop();

    for (const run of store.listRuns(experimentId)) expect(run.status).toBe('queued');
    expect(scheduler.activeRunCount).toBe(0);
  });
});
