import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pairPositionMetrics } from '../../../core/analysis/drill-down';
import { exportPairs } from '../../../core/analysis/export';
import type { StepAnalysisResult } from '../../../core/analysis/job';
import { analyseExperiment, type AnalysisProgress, type StepExecutor } from '../../../core/analysis/orchestrate';
import { readArtifacts, readPairValues, writeStepResults } from '../../../core/analysis/store';
import { startAnalysisWorker } from '../../../core/analysis/worker-executor';
import { Store } from '../../../core/store/store';
import { runStepJob } from '../../../worker/analyse/run-step';
import { tinyConfig } from '../../worker/analyse/fixtures';
import { STEPS, createExperiment, finishFixtureRun, runIdsOf } from './experiment-fixture';

const inProcess: StepExecutor = async (payload, onPair) => runStepJob({ ...payload, options: { ...payload.options, pathPoints: 3, fisherGroups: 2 } }, onPair);

let directory: string;
let store: Store;
let experimentId: number;

function runIds(): number[] {
  return runIdsOf(store, experimentId);
}

function finishRun(runId: number, seed: number): void {
  finishFixtureRun(store, runId, seed);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'seedscope-analysis-'));
  store = Store.open(path.join(directory, 'test.sqlite'));
  experimentId = createExperiment(store, 4);
});

afterEach(() => {
  store.close();
  fs.rmSync(directory, { recursive: true, force: true });
});

describe('analyseExperiment', () => {
  it('stores every pair at every shared step', async () => {
    const ids = runIds();
    ids.slice(0, 3).forEach((runId, index) => finishRun(runId, index));

    const summary = await analyseExperiment(store.db, experimentId, inProcess);
    expect(summary.steps).toEqual(STEPS);
    expect(summary.pairsComputed).toBe(6);

    const rows = readPairValues(store.db, experimentId);
    for (const step of STEPS) {
      const klRows = rows.filter((row) => row.step === step && row.metric === 'klAB');
      expect(klRows.map((row) => [row.runA, row.runB])).toEqual([[ids[0], ids[1]], [ids[0], ids[2]], [ids[1], ids[2]]]);
    }
    const embeddings = readArtifacts(store.db, experimentId, 'mds');
    expect(embeddings.map((entry) => entry.step)).toEqual(STEPS);
    const payload = embeddings[0]!.payload as { groups: Array<{ runIds: number[]; spaces: { function: { coordinates: number[][] } } }> };
    expect(payload.groups).toHaveLength(1);
    expect(payload.groups[0]!.runIds).toEqual(ids.slice(0, 3));
    expect(payload.groups[0]!.spaces.function.coordinates).toHaveLength(3);
  });

  it('computes barriers only at the final step on request', async () => {
    runIds().slice(0, 3).forEach((runId, index) => finishRun(runId, index));

    await analyseExperiment(store.db, experimentId, inProcess, { barrierSteps: 'final' });

    const rows = readPairValues(store.db, experimentId);
    const stepsWith = (metric: string) => [...new Set(rows.filter((row) => row.metric === metric).map((row) => row.step))];
    expect(stepsWith('barrier')).toEqual([4]);
    expect(stepsWith('alignedBarrier')).toEqual([4]);
    expect(stepsWith('klAB')).toEqual(STEPS);
    expect(stepsWith('alignedL2')).toEqual(STEPS);
    expect(readArtifacts(store.db, experimentId, 'lossPath').map((entry) => entry.step)).toEqual([4, 4, 4]);
  });

  it('compares a new run only with the finished ones', async () => {
    const ids = runIds();
    ids.slice(0, 3).forEach((runId, index) => finishRun(runId, index));
    await analyseExperiment(store.db, experimentId, inProcess);
    const before = readPairValues(store.db, experimentId).find((row) => row.metric === 'l2')!;

    finishRun(ids[3]!, 3);
    const progress: AnalysisProgress[] = [];
    const summary = await analyseExperiment(store.db, experimentId, inProcess, { onProgress: (entry) => progress.push(entry) });
    expect(summary.pairsComputed).toBe(6);
    expect(progress.every((entry) => entry.total === 6)).toBe(true);
    expect(progress.at(-1)!.done).toBe(6);

    const rows = readPairValues(store.db, experimentId);
    expect(rows.filter((row) => row.metric === 'klAB')).toHaveLength(12);
    expect(rows.find((row) => row.metric === 'l2' && row.runA === before.runA && row.runB === before.runB && row.step === before.step)!.value).toBe(before.value);
    expect(readArtifacts(store.db, experimentId, 'runFunction', 4)).toHaveLength(4);
  });

  it('does nothing when every pair is stored', async () => {
    runIds().slice(0, 2).forEach((runId, index) => finishRun(runId, index));
    await analyseExperiment(store.db, experimentId, inProcess);
    let calls = 0;
    const counting: StepExecutor = async (payload, onPair) => {
      calls += 1;
      return inProcess(payload, onPair);
    };
    const summary = await analyseExperiment(store.db, experimentId, counting);
    expect(calls).toBe(0);
    expect(summary.pairsComputed).toBe(0);
  });

  it('recomputes everything on request', async () => {
    runIds().slice(0, 2).forEach((runId, index) => finishRun(runId, index));
    await analyseExperiment(store.db, experimentId, inProcess);
    writeStepResults(store.db, experimentId, 2, [{ runA: runIds()[0]!, runB: runIds()[1]!, metric: 'stale', value: 1 }], []);

    const summary = await analyseExperiment(store.db, experimentId, inProcess, { recompute: true });
    expect(summary.pairsComputed).toBe(2);
    expect(readPairValues(store.db, experimentId).some((row) => row.metric === 'stale')).toBe(false);
  });

  it('analyses a single run without pairs', async () => {
    finishRun(runIds()[0]!, 0);
    const summary = await analyseExperiment(store.db, experimentId, inProcess);
    expect(summary.pairsComputed).toBe(0);
    expect(readArtifacts(store.db, experimentId, 'runFunction')).toHaveLength(2);
  });

  it('pairs only runs of the same architecture', async () => {
    const wide = { ...tinyConfig(), model: { ...tinyConfig().model, dModel: 12 } };
    const mixed = createExperiment(store, 3, [tinyConfig(), tinyConfig(), wide]);
    const [a, b, c] = runIdsOf(store, mixed);
    finishFixtureRun(store, a!, 0);
    finishFixtureRun(store, b!, 1);
    finishFixtureRun(store, c!, 2, wide);

    const summary = await analyseExperiment(store.db, mixed, inProcess);
    expect(summary.pairsComputed).toBe(2);
    expect(readPairValues(store.db, mixed, 4).filter((row) => row.metric === 'klAB').map((row) => [row.runA, row.runB])).toEqual([[a, b]]);
    expect(readArtifacts(store.db, mixed, 'runFunction', 4)).toHaveLength(3);
    const embedding = readArtifacts(store.db, mixed, 'mds', 4)[0]!.payload as { groups: Array<{ runIds: number[] }> };
    expect(embedding.groups.map((group) => group.runIds)).toEqual([[a, b], [c]]);
  });

  it('rejects an unknown experiment', async () => {
    await expect(analyseExperiment(store.db, 999, inProcess)).rejects.toThrow(/experiment 999 not found/);
  });

  it('runs the job in a worker process', async () => {
    runIds().slice(0, 2).forEach((runId, index) => finishRun(runId, index));
    const worker = await startAnalysisWorker();
    try {
      const summary = await analyseExperiment(store.db, experimentId, worker.execute, { stepOptions: { pathPoints: 3, fisherGroups: 2 } });
      expect(summary.pairsComputed).toBe(2);
    } finally {
      await worker.stop();
    }
    expect(readPairValues(store.db, experimentId).filter((row) => row.metric === 'alignedL2')).toHaveLength(2);
  }, 60_000);

  it('reports a failing job as a rejection', async () => {
    runIds().slice(0, 2).forEach((runId, index) => finishRun(runId, index));
    const failing: StepExecutor = async () => {
      throw new Error('probe set missing');
    };
    await expect(analyseExperiment(store.db, experimentId, failing)).rejects.toThrow(/probe set missing/);
    expect(readPairValues(store.db, experimentId)).toHaveLength(0);
  });
});

describe('exportPairs', () => {
  it('returns n(n-1)/2 pairs per step for each metric', async () => {
    runIds().slice(0, 3).forEach((runId, index) => finishRun(runId, index));
    await analyseExperiment(store.db, experimentId, inProcess);
    const rows = JSON.parse(exportPairs(store.db, experimentId, 'json')) as Array<{ runA: number; runB: number; step: number; metric: string; value: number | string }>;

    const counts = new Map<string, number>();
    for (const row of rows) counts.set(`${row.step}/${row.metric}`, (counts.get(`${row.step}/${row.metric}`) ?? 0) + 1);
    expect(counts.size).toBeGreaterThan(2 * 20);
    for (const count of counts.values()) expect(count).toBe(3);
  });

  it('writes non-finite values by name in CSV and JSON', () => {
    const [a, b] = runIds();
    finishRun(a!, 0);
    finishRun(b!, 1);
    const result: StepAnalysisResult['pairValues'] = [
      { runA: a!, runB: b!, metric: 'klAB', value: Infinity },
      { runA: a!, runB: b!, metric: 'cka.0', value: Number.NaN },
    ];
    writeStepResults(store.db, experimentId, 2, result, []);
    expect(exportPairs(store.db, experimentId, 'csv')).toBe(`run_a,run_b,step,metric,value\n${a},${b},2,cka.0,NaN\n${a},${b},2,klAB,Infinity\n`);
    expect(JSON.parse(exportPairs(store.db, experimentId, 'json'))).toEqual([
      { runA: a, runB: b, step: 2, metric: 'cka.0', value: 'NaN' },
      { runA: a, runB: b, step: 2, metric: 'klAB', value: 'Infinity' },
    ]);
  });
});

describe('pairPositionMetrics', () => {
  it('matches the stored means and keeps the probe shape', async () => {
    const [a, b] = runIds();
    finishRun(a!, 0);
    finishRun(b!, 1);
    await analyseExperiment(store.db, experimentId, inProcess);

    const positions = pairPositionMetrics(store.db, a!, b!, 4);
    expect(positions.shape).toEqual([3, 6]);
    expect(positions.metrics.klAB).toHaveLength(18);
    const stored = readPairValues(store.db, experimentId, 4).find((row) => row.metric === 'klAB')!.value;
    expect(positions.metrics.klAB.reduce((sum, value) => sum + value, 0) / 18).toBeCloseTo(stored, 12);
  });

  it('reports a missing checkpoint', () => {
    const [a, b] = runIds();
    expect(() => pairPositionMetrics(store.db, a!, b!, 4)).toThrow(/not found/);
  });
});
