import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { attachAnalysis } from '../../../core/analysis/service-hook';
import type { StepExecutor } from '../../../core/analysis/orchestrate';
import { readPairValues } from '../../../core/analysis/store';
import type { ApiEvent } from '../../../core/api';
import { createProgram } from '../../../core/cli/main';
import { Service } from '../../../core/service';
import { Store } from '../../../core/store/store';
import { runStepJob } from '../../../worker/analyse/run-step';
import { STEPS, createExperiment, finishFixtureRun, runIdsOf } from './experiment-fixture';

let directory: string;
let file: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'seedscope-analysis-cli-'));
  file = path.join(directory, 'test.sqlite');
});

afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(directory, { recursive: true, force: true });
});

/** Creates an experiment with `finished` done runs out of `count`; returns its id. */
function seedDatabase(count: number, finished: number): number {
  const store = Store.open(file);
  try {
    const experimentId = createExperiment(store, count);
    runIdsOf(store, experimentId).slice(0, finished).forEach((runId, index) => finishFixtureRun(store, runId, index));
    return experimentId;
  } finally {
    store.close();
  }
}

async function runCommand(args: string[]): Promise<string> {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const program = createProgram();
  try {
    await program.parseAsync(['node', 'seedscope', '--db', file, ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return chunks.join('');
}

describe('seedscope analyze', () => {
  it('computes pairs that export returns', async () => {
    const experimentId = seedDatabase(3, 3);
    const output = await runCommand(['analyze', String(experimentId), '--path-points', '3']);
    expect(output).toContain(`experiment ${experimentId}: analysis up to date: 3 pairs at each of 2 steps (6 computed now)`);

    const again = await runCommand(['analyze', String(experimentId), '--path-points', '3']);
    expect(again).toContain(`experiment ${experimentId}: analysis up to date: 3 pairs at each of 2 steps (0 computed now)`);

    const exported = JSON.parse(await runCommand(['export', String(experimentId), '--what', 'pairs', '--format', 'json'])) as Array<{ step: number; metric: string }>;
    for (const step of STEPS) {
      for (const metric of ['klAB', 'klBA', 'jensenShannon', 'alignedL2', 'cka.1', 'barrier']) {
        expect(exported.filter((row) => row.step === step && row.metric === metric)).toHaveLength(3);
      }
    }
  }, 60_000);

  it('prints per-position values whose means are the pair metrics', async () => {
    const experimentId = seedDatabase(2, 2);
    await runCommand(['analyze', String(experimentId), '--path-points', '2']);
    const pairs = JSON.parse(await runCommand(['export', String(experimentId), '--what', 'pairs', '--format', 'json'])) as Array<{
      runA: number;
      runB: number;
      step: number;
      metric: string;
      value: number;
    }>;
    const stored = pairs.find((row) => row.step === STEPS[1] && row.metric === 'symmetricKl')!;

    const csv = await runCommand(['positions', String(experimentId), String(stored.runA), String(stored.runB), '--step', String(STEPS[1])]);

    const [header, ...lines] = csv.trim().split('\n');
    const column = header!.split(',').indexOf('symmetricKl');
    const values = lines.map((line) => Number(line.split(',')[column]));
    expect(values.length).toBeGreaterThan(1);
    expect(values.reduce((sum, value) => sum + value, 0) / values.length).toBeCloseTo(stored.value, 12);
  }, 60_000);

  it('rejects positions at a step that is not a checkpoint', async () => {
    const experimentId = seedDatabase(2, 2);
    await expect(runCommand(['positions', String(experimentId), '1', '2', '--step', '3'])).rejects.toThrow(/step 3 is not a checkpoint step/);
  });

  it('rejects invalid path points', async () => {
    const experimentId = seedDatabase(2, 2);
    await expect(runCommand(['analyze', String(experimentId), '--path-points', '1'])).rejects.toThrow(/invalid --path-points "1"/);
  });

  it('rejects an unknown experiment', async () => {
    seedDatabase(2, 0);
    await expect(runCommand(['analyze', '42'])).rejects.toThrow(/experiment 42 not found/);
  });
});

describe('attachAnalysis', () => {
  it('analyses after a run finishes and publishes progress', async () => {
    const experimentId = seedDatabase(2, 2);
    const service = new Service(Store.open(file));
    const events: ApiEvent[] = [];
    const finished = new Promise<void>((resolve) => {
      service.subscribe((event) => {
        events.push(event);
        if (event.type === 'analysisProgress' && event.message.startsWith('analysis up to date')) resolve();
      });
    });
    const execute: StepExecutor = async (payload, onPair) => runStepJob({ ...payload, options: { ...payload.options, pathPoints: 3, fisherGroups: 2 } }, onPair);
    const detach = attachAnalysis(service, { startExecutor: async () => ({ execute, stop: async () => {} }) });

    // The scheduler calls this when a run ends done, but no scheduler runs in this test.
    service['callRunFinishedHooks'](experimentId, runIdsOf(service.store, experimentId)[1]!);
    await finished;
    await detach();

    expect(readPairValues(service.store.db, experimentId).filter((row) => row.metric === 'klAB')).toHaveLength(2);
    const progress = events.filter((event) => event.type === 'analysisProgress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ type: 'analysisProgress', experimentId, done: 2, total: 2 });
    await service.close();
  });

  it('starts no executor when up to date', async () => {
    const experimentId = seedDatabase(2, 2);
    const service = new Service(Store.open(file));
    const passes: string[] = [];
    let passEnded = () => {};
    service.subscribe((event) => {
      if (event.type !== 'analysisProgress' || !event.message.startsWith('analysis up to date')) return;
      passes.push(event.message);
      passEnded();
    });
    const nextPass = () => new Promise<void>((resolve) => (passEnded = resolve));
    let starts = 0;
    const execute: StepExecutor = async (payload, onPair) => runStepJob({ ...payload, options: { ...payload.options, pathPoints: 3, fisherGroups: 2 } }, onPair);
    const detach = attachAnalysis(service, {
      startExecutor: async () => {
        starts += 1;
        return { execute, stop: async () => {} };
      },
    });
    const lastRun = runIdsOf(service.store, experimentId)[1]!;

    let ended = nextPass();
    service['callRunFinishedHooks'](experimentId, lastRun);
    await ended;
    ended = nextPass();
    service['callRunFinishedHooks'](experimentId, lastRun);
    await ended;
    await detach();

    expect(passes).toHaveLength(2);
    expect(starts).toBe(1);
    await service.close();
  });
});
