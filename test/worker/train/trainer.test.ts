import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { RunConfig } from '../../../core/spec';
import type { CheckpointPayload, MetricRow } from '../../../worker/protocol';
import { train, type TrainCallbacks, type TrainOutcome } from '../../../worker/train/trainer';
import { tinyRunConfig, useBackend } from '../helpers';
import type { ConcreteBackend } from '../../../worker/backend';

interface Recorded {
  outcome: TrainOutcome;
  metrics: MetricRow[];
  checkpoints: CheckpointPayload[];
  tensorsAtProgress: number[];
}

async function record(config: RunConfig, options: Parameters<typeof train>[2] = {}, cancelAfterStep?: number): Promise<Recorded> {
  const metrics: MetricRow[] = [];
  const checkpoints: CheckpointPayload[] = [];
  const tensorsAtProgress: number[] = [];
  let lastStep = 0;
  const callbacks: TrainCallbacks = {
    onMetrics: (rows) => metrics.push(...rows),
    onProgress: (progress) => {
      lastStep = progress.step;
      tensorsAtProgress.push(tf.memory().numTensors);
    },
    onCheckpoint: (checkpoint) => checkpoints.push(checkpoint),
    onLog: () => undefined,
    isCancelled: () => cancelAfterStep !== undefined && lastStep >= cancelAfterStep,
  };
  const outcome = await train(config, callbacks, options);
  return { outcome, metrics, checkpoints, tensorsAtProgress };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function metricValues(metrics: MetricRow[], name: string): number[] {
  return metrics.filter((row) => row.name === name).map((row) => row.value);
}

describe('train', { timeout: 30_000 }, () => {
  for (const backend of ['cpu', 'wasm'] as ConcreteBackend[]) {
    it(`is bit-exact across repeats on ${backend}`, async () => {
      await useBackend(backend);
      const config = tinyRunConfig();
      const first = await record(config);
      const second = await record(config);

      expect(first.outcome.kind).toBe('done');
      expect(sha256(first.checkpoints.at(-1)!.weights)).toBe(sha256(second.checkpoints.at(-1)!.weights));
      expect(sha256(first.checkpoints.at(-1)!.optimizerState)).toBe(sha256(second.checkpoints.at(-1)!.optimizerState));
    });
  }

  it('gives different weights for different init seeds', async () => {
    await useBackend('cpu');
    const first = await record(tinyRunConfig({ initSeed: 1 }));
    const second = await record(tinyRunConfig({ initSeed: 7 }));
    expect(sha256(first.checkpoints.at(-1)!.weights)).not.toBe(sha256(second.checkpoints.at(-1)!.weights));
  });

  it('gives equal losses on wasm and cpu', async () => {
    const config = tinyRunConfig({ training: { steps: 8, logEvery: 1 } });
    await useBackend('cpu');
    const onCpu = metricValues((await record(config)).metrics, 'trainLoss');
    await useBackend('wasm');
    const onWasm = metricValues((await record(config)).metrics, 'trainLoss');

    expect(onWasm).toHaveLength(8);
    onWasm.forEach((loss, i) => expect(loss).toBeCloseTo(onCpu[i], 4));
  });

  it('resumes to the same weights as an uninterrupted run', async () => {
    await useBackend('wasm');
    const config = tinyRunConfig({ training: { steps: 8 }, checkpointSteps: [3, 8] });
    const uninterrupted = await record(config);
    const atThree = uninterrupted.checkpoints.find((checkpoint) => checkpoint.step === 3)!;

    const resumed = await record(config, {
      resume: { step: 3, weights: atThree.weights, optimizerState: atThree.optimizerState, trainerState: structuredClone(atThree.trainerState) },
    });

    expect(resumed.outcome.kind).toBe('done');
    expect(resumed.checkpoints.map((checkpoint) => checkpoint.step)).toEqual([8]);
    expect(sha256(resumed.checkpoints[0].weights)).toBe(sha256(uninterrupted.checkpoints.at(-1)!.weights));
    expect(sha256(resumed.checkpoints[0].optimizerState)).toBe(sha256(uninterrupted.checkpoints.at(-1)!.optimizerState));
  });

  it('resumes bit-exactly with sampled Fisher labels', async () => {
    await useBackend('cpu');
    // K-FAC with the true Fisher draws labels from the run's label stream every step.
    const config = tinyRunConfig({ optimizer: { kind: 'kfac', lr: 0.05, fisher: 'true', inverseEvery: 2 }, training: { steps: 6 }, checkpointSteps: [3, 6] });
    const uninterrupted = await record(config);
    const atThree = uninterrupted.checkpoints.find((checkpoint) => checkpoint.step === 3)!;

    const resumed = await record(config, {
      resume: { step: 3, weights: atThree.weights, optimizerState: atThree.optimizerState, trainerState: structuredClone(atThree.trainerState) },
    });

    expect(uninterrupted.outcome.kind).toBe('done');
    expect(sha256(resumed.checkpoints[0].weights)).toBe(sha256(uninterrupted.checkpoints.at(-1)!.weights));
  });

  it('reports divergence with its step and value', async () => {
    await useBackend('cpu');
    const config = tinyRunConfig({ optimizer: { kind: 'sgd', lr: 100, momentum: 0.9 }, training: { steps: 40, logEvery: 40 } });
    const { outcome } = await record(config);

    expect(outcome.kind).toBe('diverged');
    if (outcome.kind !== 'diverged') return;
    expect(outcome.step).toBeGreaterThan(1);
    expect(outcome.step).toBeLessThanOrEqual(40);
    expect(Number.isFinite(outcome.value)).toBe(false);
    expect(outcome.message).toContain(`step ${outcome.step}`);
  });

  it('leaves the tensor count unchanged per step', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const { tensorsAtProgress } = await record(tinyRunConfig({ training: { steps: 5, logEvery: 1 } }));

    expect(tensorsAtProgress).toHaveLength(5);
    expect(new Set(tensorsAtProgress).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops between steps when cancelled', async () => {
    await useBackend('cpu');
    const { outcome } = await record(tinyRunConfig({ training: { steps: 20, logEvery: 1 } }), {}, 3);
    expect(outcome).toEqual({ kind: 'cancelled', step: 3 });
  });

  it('emits the documented metrics and checkpoint blobs', async () => {
    await useBackend('cpu');
    const config = tinyRunConfig({ checkpointSteps: [2, 6] });
    const { metrics, checkpoints, outcome } = await record(config);

    const names = new Set(metrics.map((row) => row.name));
    for (const name of ['trainLoss', 'validationLoss', 'gradNorm', 'updateNorm', 'lr', 'tokensPerSecond', 'stepMs', 'trueKl']) {
      expect(names).toContain(name);
    }
    expect(metricValues(metrics, 'trueKl')).toHaveLength(2);
    expect(checkpoints.map((checkpoint) => checkpoint.step)).toEqual([2, 6]);
    expect(outcome.kind).toBe('done');
    if (outcome.kind !== 'done') return;
    expect(outcome.summary.finalTrueKl).toBeGreaterThan(0);
    expect(outcome.summary.finalTrainLoss).toBe(metricValues(metrics, 'trainLoss').at(-1));
    expect(outcome.summary.finalValidationLoss).toBe(metricValues(metrics, 'validationLoss').at(-1));
  });

  it('logs the optimizer description once', async () => {
    await useBackend('cpu');
    const lines: string[] = [];
    const config = tinyRunConfig({ optimizer: { kind: 'kfac' }, training: { steps: 2, logEvery: 1 } });

    const outcome = await train(config, {
      onMetrics: () => undefined,
      onProgress: () => undefined,
      onCheckpoint: () => undefined,
      onLog: (_level, message) => lines.push(message),
      isCancelled: () => false,
    });

    expect(outcome.kind).toBe('done');
    expect(lines.filter((line) => /kfac|K-FAC/i.test(line))).toHaveLength(1);
  });

  it('keeps updateNorm as a single run metric', async () => {
    await useBackend('cpu');
    const { metrics } = await record(tinyRunConfig({ optimizer: { kind: 'kfac' }, training: { steps: 2, logEvery: 1 } }));

    const names = new Set(metrics.map((row) => row.name));
    expect(names).toContain('updateNorm');
    expect(names).not.toContain('opt.updateNorm');
  });
});
