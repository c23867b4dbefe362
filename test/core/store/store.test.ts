import { describe, expect, it } from 'vitest';
import { expandSweep, parseSweepSpec, type SweepSpec } from '../../../core/spec';
import { sha256Hex, Store } from '../../../core/store/store';
import { encodeSafetensors } from '../../../core/tensors/safetensors';
import type { CheckpointPayload } from '../../../worker/protocol';
import { tempDatabasePath, tinySpec } from '../helpers/temp';

function openWithExperiment(): { store: Store; experimentId: number; spec: SweepSpec } {
  const parsed = parseSweepSpec(tinySpec());
  if (!parsed.ok) throw new Error('tiny spec is invalid');
  const store = Store.open(tempDatabasePath());
  const experimentId = store.insertExperiment(parsed.spec, expandSweep(parsed.spec));
  return { store, experimentId, spec: parsed.spec };
}

function checkpointAt(step: number, fill: number): CheckpointPayload {
  const blob = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [4], data: new Float32Array(4).fill(fill) }]);
  return { step, weights: blob, optimizerState: blob, trainerState: { step, rng: [1, 2] }, probeLogProbs: blob };
}

const owner = { pid: process.pid, host: 'test-host' };

describe('Store metrics', () => {
  it('round-trips NaN and infinities unchanged', () => {
    const { store, experimentId } = openWithExperiment();
    const runId = store.listRuns(experimentId)[0]!.id;
    const values = [1.5, Number.NaN, Infinity, -Infinity, 0, -2.25e-300, Number.MAX_VALUE];

    store.recordMetrics(
      runId,
      values.map((value, index) => ({ step: index + 1, name: 'trainLoss', value })),
    );

    const [series] = store.getRunMetrics(experimentId, ['trainLoss']);
    expect(series!.steps).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(series!.values).toEqual(values);
    expect(Number.isNaN(series!.values[1])).toBe(true);
    store.close();
  });

  it('advances the run step with each batch', () => {
    const { store, experimentId } = openWithExperiment();
    const runId = store.listRuns(experimentId)[0]!.id;
    store.recordMetrics(runId, [{ step: 10, name: 'lr', value: 0.1 }]);
    expect(store.getRun(runId)!.step).toBe(10);
    store.close();
  });

  it('filters series by name', () => {
    const { store, experimentId } = openWithExperiment();
    const runId = store.listRuns(experimentId)[0]!.id;
    store.recordMetrics(runId, [
      { step: 1, name: 'lr', value: 0.1 },
      { step: 1, name: 'trainLoss', value: 2 },
    ]);
    expect(store.getRunMetrics(experimentId, ['lr']).map((series) => series.name)).toEqual(['lr']);
    expect(store.getRunMetrics(experimentId).map((series) => series.name)).toEqual(['lr', 'trainLoss']);
    store.close();
  });
});

describe('Store runs', () => {
  it('creates one queued run per expanded config', () => {
    const { store, experimentId, spec } = openWithExperiment();
    const runs = store.listRuns(experimentId);
    expect(runs).toHaveLength(expandSweep(spec).length);
    for (const run of runs) {
      expect(run.status).toBe('queued');
      expect(run.totalSteps).toBe(20);
    }
    expect(store.getExperimentSummary(experimentId)!.status).toBe('queued');
    store.close();
  });

  it('claims runs in order and counts attempts', () => {
    const { store, experimentId } = openWithExperiment();
    const first = store.claimNextRun(owner, [experimentId])!;
    const second = store.claimNextRun(owner, [experimentId])!;

    expect(first.ordinal).toBe(0);
    expect(second.ordinal).toBe(1);
    expect(first.status).toBe('running');
    expect(first.attempts).toBe(1);
    expect(first.pid).toBe(process.pid);
    expect(store.getExperimentSummary(experimentId)!.status).toBe('running');
    expect(store.claimNextRun(owner, [experimentId + 1])).toBeNull();
    store.close();
  });

  it('commits a checkpoint with the step and its hash', () => {
    const { store, experimentId } = openWithExperiment();
    const run = store.claimNextRun(owner)!;
    const checkpoint = checkpointAt(7, 0.5);

    const hash = store.commitCheckpoint(run.id, checkpoint);

    expect(hash).toBe(sha256Hex(checkpoint.weights));
    expect(store.getRun(run.id)!.step).toBe(7);
    const stored = store.getCheckpoint(run.id, 7)!;
    expect(Buffer.from(stored.weights).equals(Buffer.from(checkpoint.weights))).toBe(true);
    expect(stored.trainerState).toEqual({ step: 7, rng: [1, 2] });
    expect(stored.probeActivations).toBeNull();
    expect(store.listCheckpoints(run.id).map((info) => info.step)).toEqual([7]);
    expect(store.getExperimentDetail(experimentId)!.checkpointSteps).toEqual([7]);
    store.close();
  });

  it('rewinds metrics to the last checkpoint', () => {
    const { store } = openWithExperiment();
    const run = store.claimNextRun(owner)!;
    store.recordMetrics(run.id, [
      { step: 5, name: 'trainLoss', value: 1 },
      { step: 10, name: 'trainLoss', value: 0.5 },
    ]);
    store.commitCheckpoint(run.id, checkpointAt(5, 1));

    const checkpoint = store.rewindToLastCheckpoint(run.id);

    expect(checkpoint!.step).toBe(5);
    expect(store.getRun(run.id)!.step).toBe(5);
    expect(store.getRunMetrics(run.experimentId)[0]!.steps).toEqual([5]);
    store.close();
  });

  it('records the final weights hash when a run is done', () => {
    const { store } = openWithExperiment();
    const run = store.claimNextRun(owner)!;
    store.commitCheckpoint(run.id, checkpointAt(10, 1));
    const final = store.commitCheckpoint(run.id, checkpointAt(20, 2));

    store.finishRun(run.id, { status: 'done', summary: { steps: 20, finalTrainLoss: 1.25, finalValidationLoss: Number.NaN, wallSeconds: 3 } });

    const done = store.getRun(run.id)!;
    expect(done.status).toBe('done');
    expect(done.weightsSha256).toBe(final);
    expect(done.finalTrainLoss).toBe(1.25);
    expect(done.finalValidationLoss).toBeNull();
    store.close();
  });

  it('keeps a cancel made while the worker failed', () => {
    const { store } = openWithExperiment();
    const run = store.claimNextRun(owner)!;
    expect(store.cancelRuns({ runId: run.id })).toEqual([run.id]);

    expect(store.finishRun(run.id, { status: 'failed', error: 'late' })).toBe(false);
    expect(store.getRun(run.id)!.status).toBe('cancelled');
    store.close();
  });

  it('cancels queued and running runs of an experiment', () => {
    const { store, experimentId } = openWithExperiment();
    const running = store.claimNextRun(owner)!;

    expect(store.cancelRuns({ experimentId })).toEqual([running.id]);
    for (const run of store.listRuns(experimentId)) expect(run.status).toBe('cancelled');
    expect(store.getExperimentSummary(experimentId)!.status).toBe('cancelled');
    store.close();
  });

  it('resets a failed run for a retry', () => {
    const { store } = openWithExperiment();
    const run = store.claimNextRun(owner)!;
    store.commitCheckpoint(run.id, checkpointAt(5, 1));
    store.finishRun(run.id, { status: 'failed', error: 'boom' });

    store.resetRun(run.id);

    const reset = store.getRun(run.id)!;
    expect(reset.status).toBe('queued');
    expect(reset.attempts).toBe(0);
    expect(reset.error).toBeNull();
    expect(store.listCheckpoints(run.id)).toEqual([]);
    store.close();
  });

  it('deletes an experiment with everything it owns', () => {
    const { store, experimentId } = openWithExperiment();
    const run = store.claimNextRun(owner)!;
    store.commitCheckpoint(run.id, checkpointAt(5, 1));
    store.appendRunLog(run.id, 'info', 'hello');

    expect(store.deleteExperiment(experimentId)).toBe(true);
    expect(store.getRun(run.id)).toBeNull();
    expect(store.db.prepare('SELECT COUNT(*) FROM checkpoints').pluck().get()).toBe(0);
    expect(store.db.prepare('SELECT COUNT(*) FROM run_logs').pluck().get()).toBe(0);
    store.close();
  });
});

describe('Store pair metrics', () => {
  it('round-trips values per step and metric', () => {
    const { store, experimentId } = openWithExperiment();
    const [a, b, c] = store.listRuns(experimentId).map((run) => run.id);
    store.insertPairMetrics(experimentId, [
      { runA: a!, runB: b!, step: 20, metric: 'klAB', value: 0.5 },
      { runA: a!, runB: c!, step: 20, metric: 'klAB', value: Infinity },
      { runA: b!, runB: c!, step: 20, metric: 'fisherRao', value: Number.NaN },
    ]);

    expect(store.listPairMetrics(experimentId)).toEqual({ steps: [20], metrics: ['fisherRao', 'klAB'] });
    const [table] = store.getPairMetrics(experimentId, 20, ['klAB']);
    expect(table).toEqual({ step: 20, metric: 'klAB', runA: [a, a], runB: [b, c], values: [0.5, Infinity] });
    store.close();
  });

  it('rejects a pair with runA not below runB', () => {
    const { store, experimentId } = openWithExperiment();
    const [a, b] = store.listRuns(experimentId).map((run) => run.id);
    expect(() => store.insertPairMetrics(experimentId, [{ runA: b!, runB: a!, step: 1, metric: 'klAB', value: 1 }])).toThrow(/runA < runB/);
    store.close();
  });

  it('stores artifacts as JSON by kind and step', () => {
    const { store, experimentId } = openWithExperiment();
    store.putArtifact(experimentId, 20, 'mds', '', { points: [[0, 1]] });
    store.putArtifact(experimentId, 10, 'mds', '', { points: [] });

    expect(store.getArtifacts(experimentId, 'mds').map((artifact) => artifact.step)).toEqual([10, 20]);
    expect(store.getArtifacts(experimentId, 'mds', 20)).toEqual([{ step: 20, subject: '', payload: { points: [[0, 1]] } }]);
    store.close();
  });
});

describe('Store.countRunsWithStatus', () => {
  it('counts within the listed experiments', () => {
    const { store, experimentId } = openWithExperiment();
    store.claimNextRun(owner);

    expect(store.countRunsWithStatus('queued')).toBe(3);
    expect(store.countRunsWithStatus('running', [experimentId])).toBe(1);
    expect(store.countRunsWithStatus('queued', [experimentId + 1])).toBe(0);
    expect(store.countRunsWithStatus('queued', [])).toBe(0);
    store.close();
  });
});
