import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../core/api';
import { typescriptEntry } from '../../core/scheduler/entry';
import { Service } from '../../core/service';
import { fakeWorkerEntry } from './helpers/cli';
import { tempDatabasePath, tempFolder, tinySpec } from './helpers/temp';

const services: Service[] = [];

afterEach(async () => {
  while (services.length > 0) await services.pop()!.close();
});

function openService(): Service {
  const service = Service.open({ dbPath: tempDatabasePath() });
  services.push(service);
  return service;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the call to reject');
}

describe('Service.createExperiment', () => {
  it('stores a valid sweep and lists it', async () => {
    const service = openService();
    const { id } = await service.createExperiment(tinySpec());

    const [summary] = await service.listExperiments();
    expect(summary!.id).toBe(id);
    expect(summary!.name).toBe('tiny');
    expect(summary!.status).toBe('queued');
    expect(summary!.optimizers).toEqual(['sgd', 'adam']);
    expect(summary!.runCounts).toEqual({ queued: 4, running: 0, done: 0, failed: 0, diverged: 0, cancelled: 0, total: 4 });

    const detail = await service.getExperiment(id);
    expect(detail!.runs.map((run) => [run.optimizerLabel, run.initSeed])).toEqual([
      ['sgd', 0],
      ['sgd', 1],
      ['adam', 0],
      ['adam', 1],
    ]);
    expect(detail!.spec.training.steps).toBe(20);
  });

  it('rejects an invalid spec with every issue', async () => {
    const service = openService();
    const error = await rejection(service.createExperiment({ ...tinySpec(), optimizers: [{ kind: 'sgd', lr: -1 }], probeSize: 0 }));

    expect(error.code).toBe('invalid');
    expect(error.issues!.map((issue) => issue.path)).toEqual(expect.arrayContaining(['optimizers.0.lr', 'probeSize']));
    expect(await service.listExperiments()).toEqual([]);
  });

  it('publishes an experiment event', async () => {
    const service = openService();
    const events: string[] = [];
    service.subscribe((event) => events.push(event.type));
    await service.createExperiment(tinySpec());
    expect(events).toEqual(['experiment']);
  });
});

describe('Service reads', () => {
  it('returns null for an unknown experiment', async () => {
    expect(await openService().getExperiment(999)).toBeNull();
  });

  it('rejects an id that is not a positive integer', async () => {
    const error = await rejection(openService().getExperiment(1.5));
    expect(error.code).toBe('invalid');
    expect(error.message).toMatch(/experiment id must be a positive integer \(received 1.5\)/);
  });

  it('returns metric series with non-finite values', async () => {
    const service = openService();
    const { id } = await service.createExperiment(tinySpec());
    const runId = (await service.getExperiment(id))!.runs[0]!.id;
    service.store.recordMetrics(runId, [
      { step: 5, name: 'trainLoss', value: Number.NaN },
      { step: 10, name: 'trainLoss', value: 1 },
    ]);

    expect(await service.getRunMetrics(id, ['trainLoss'])).toEqual([{ runId, name: 'trainLoss', steps: [5, 10], values: [Number.NaN, 1] }]);
  });
});

describe('Service edits', () => {
  it('updates name, tags and archived', async () => {
    const service = openService();
    const { id } = await service.createExperiment(tinySpec());
    const summary = await service.updateExperiment(id, { name: 'renamed', tags: ['a'], archived: true });
    expect([summary.name, summary.tags, summary.archived]).toEqual(['renamed', ['a'], true]);
  });

  it('rejects a patch with an empty name', async () => {
    const service = openService();
    const { id } = await service.createExperiment(tinySpec());
    const error = await rejection(service.updateExperiment(id, { name: '' }));
    expect(error.code).toBe('invalid');
    expect(error.message).toMatch(/^invalid experiment patch: name:/);
  });

  it('reports a missing experiment on update and delete', async () => {
    const service = openService();
    expect((await rejection(service.updateExperiment(5, { notes: 'x' }))).code).toBe('not_found');
    expect((await rejection(service.deleteExperiment(5))).code).toBe('not_found');
  });

  it('retries a cancelled run, not a queued one', async () => {
    const service = openService();
    const { id } = await service.createExperiment(tinySpec());
    const runId = (await service.getExperiment(id))!.runs[0]!.id;

    expect((await rejection(service.retryRun(runId))).code).toBe('conflict');
    await service.cancelExperiment(id);
    expect((await service.getExperiment(id))!.status).toBe('cancelled');

    await service.retryRun(runId);
    expect((await service.getExperiment(id))!.runs[0]!.status).toBe('queued');
  });

  it('deletes an experiment', async () => {
    const service = openService();
    const { id } = await service.createExperiment(tinySpec());
    await service.deleteExperiment(id);
    expect(await service.getExperiment(id)).toBeNull();
  });
});

describe('Service.validateSpec', () => {
  it('counts the runs of a valid spec', async () => {
    const result = await openService().validateSpec(tinySpec({ grid: { 'training.batchSize': [2, 4] } }));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.runCount).toBe(8);
  });
});

describe('Service with a scheduler', { timeout: 60_000 }, () => {
  it('calls run-finished hooks for done runs only', async () => {
    const service = Service.open({
      dbPath: tempDatabasePath(),
      train: { workers: 2, entry: typescriptEntry(fakeWorkerEntry, { FAKE_FAIL_RUN_ID: '2' }), pollIntervalMs: 100 },
    });
    services.push(service);
    const finished: Array<[number, number]> = [];
    service.onRunFinished((experimentId, runId) => {
      finished.push([experimentId, runId]);
    });
    const failingHook = service.onRunFinished(() => Promise.reject(new Error('hook failure is logged, not thrown')));
    const progressSteps: number[] = [];
    service.subscribe((event) => {
      if (event.type === 'runProgress' && event.status === 'running') progressSteps.push(event.step);
    });

    const { id } = await service.createExperiment(tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 3 } }));
    await service.scheduler!.whenIdle();
    failingHook();

    expect(finished.sort()).toEqual([
      [id, 1],
      [id, 3],
    ]);
    expect(progressSteps.length).toBeGreaterThan(0);
    expect((await service.getExperiment(id))!.runs.map((run) => run.status)).toEqual(['done', 'failed', 'done']);
  });
});

describe('Service text task checks', () => {
  const textSpec = (file: string) => tinySpec({ task: { kind: 'text', path: file }, model: { contextLength: 8, dModel: 8, nHeads: 2, nLayers: 1, dMlp: 16 } });

  it.each([
    ['missing', null, /was not found/],
    ['empty', '', /is empty/],
    ['binary', 'abc\u0000def', /looks binary/],
    ['short', 'hello world', /is too short/],
  ])('rejects a %s file before queuing runs', async (_case, content, message) => {
    const service = openService();
    const file = path.join(tempFolder(), 'corpus.txt');
    if (content !== null) fs.writeFileSync(file, content);

    const validation = await service.validateSpec(textSpec(file));
    const error = await rejection(service.createExperiment(textSpec(file)));

    expect(validation.ok).toBe(false);
    if (validation.ok) return;
    expect(validation.issues.map((issue) => issue.path)).toEqual(['task.path']);
    expect(validation.issues[0]!.message).toMatch(message);
    expect(error.code).toBe('invalid');
    expect(await service.listExperiments()).toEqual([]);
  });

  it('accepts a long enough UTF-8 file', async () => {
    const service = openService();
    const file = path.join(tempFolder(), 'corpus.txt');
    fs.writeFileSync(file, 'the quick brown fox jumps over the lazy dog. '.repeat(40));

    const validation = await service.validateSpec(textSpec(file));

    expect(validation.ok).toBe(true);
  });
});
