import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignParameters, applyPermutation, type TransformerPermutation } from '../../../core/analysis/alignment';
import { DEFAULT_STEP_OPTIONS, type StepAnalysisPayload, type StepAnalysisResult } from '../../../core/analysis/job';
import { layoutOf, type ParameterMap } from '../../../core/analysis/parameters';
import { fisherQuadratic } from '../../../core/analysis/step';
import { TransformerProbe } from '../../../worker/analyse/model-probe';
import { runStepJob } from '../../../worker/analyse/run-step';
import { randomPermutation } from '../../core/analysis/builders';
import { architectureOf, checkpointOf, initialParameters, taskOf, tinyConfig } from './fixtures';

const config = tinyConfig();

function permutationFor(parameters: ParameterMap, seed: number): TransformerPermutation {
  const layout = layoutOf(parameters, config.model.nHeads);
  let next = seed;
  const draw = (n: number) => randomPermutation((next += 1), n);
  return {
    residual: draw(layout.dModel),
    blocks: Array.from({ length: layout.nLayers }, () => ({
      mlp: draw(layout.dMlp),
      heads: draw(layout.nHeads),
      queryKey: Array.from({ length: layout.nHeads }, () => draw(layout.dHead)),
      valueOutput: Array.from({ length: layout.nHeads }, () => draw(layout.dHead)),
    })),
  };
}

function value(result: StepAnalysisResult, runA: number, runB: number, metric: string): number {
  const row = result.pairValues.find((entry) => entry.runA === runA && entry.runB === runB && entry.metric === metric);
  if (row === undefined) throw new Error(`no ${metric} for ${runA}:${runB}`);
  return row.value;
}

describe('runStepJob', () => {
  let result: StepAnalysisResult;
  let original: ParameterMap;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    original = initialParameters(config, 1);
    const other = initialParameters(config, 2);
    const permuted = applyPermutation(original, permutationFor(original, 40), layoutOf(original, config.model.nHeads));
    const payload: StepAnalysisPayload = {
      experimentId: 1,
      step: 4,
      config,
      runs: [checkpointOf(config, 1, original), checkpointOf(config, 2, other), checkpointOf(config, 3, permuted, false)],
      pairs: [
        [1, 2],
        [1, 3],
        [2, 3],
      ],
      options: { ...DEFAULT_STEP_OPTIONS, pathPoints: 5, fisherGroups: 3 },
    };
    result = runStepJob(payload);
  });

  it('finds a permuted model the same function', () => {
    expect(value(result, 1, 3, 'klAB')).toBeLessThan(1e-9);
    expect(value(result, 1, 3, 'fisherRao')).toBeLessThan(1e-3);
    expect(value(result, 1, 3, 'top1Disagreement')).toBe(0);
  });

  it('finds a permuted model far in raw weights, near once aligned', () => {
    expect(value(result, 1, 3, 'relativeL2')).toBeGreaterThan(0.5);
    expect(value(result, 1, 3, 'alignedRelativeL2')).toBeLessThan(1e-6);
    expect(value(result, 1, 3, 'alignedBarrier')).toBeLessThan(1e-4);
  });

  it('gives CKA 1 per layer to a permuted model', () => {
    // The residual stream of the permuted model is the original's with its features permuted, an orthogonal transform.
    expect(value(result, 1, 3, 'cka.0')).toBeCloseTo(1, 5);
    expect(value(result, 1, 3, 'cka.1')).toBeCloseTo(1, 5);
  });

  it('separates models of different seeds', () => {
    expect(value(result, 1, 2, 'klAB')).toBeGreaterThan(1e-3);
    expect(value(result, 1, 2, 'alignedRelativeL2')).toBeGreaterThan(0.1);
    expect(value(result, 1, 2, 'alignedL2')).toBeLessThanOrEqual(value(result, 1, 2, 'l2'));
  });

  it('stores path, permutation and per-run values', () => {
    const path = result.artifacts.find((artifact) => artifact.kind === 'lossPath' && artifact.subject === '1:2')!.payload as { alphas: number[]; raw: number[] };
    expect(path.alphas).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(path.raw).toHaveLength(5);
    expect(result.artifacts.filter((artifact) => artifact.kind === 'permutation')).toHaveLength(3);
    const runValues = result.artifacts.filter((artifact) => artifact.kind === 'runFunction');
    expect(runValues.map((artifact) => artifact.subject)).toEqual(['1', '2', '3']);
    for (const artifact of runValues) {
      const payload = artifact.payload as { trueKl: number; klToEnsemble: number };
      expect(payload.trueKl).toBeGreaterThan(0);
      expect(payload.klToEnsemble).toBeGreaterThanOrEqual(0);
    }
  });

  it('returns every metric for every pair', () => {
    for (const [runA, runB] of [[1, 2], [1, 3], [2, 3]] as const) {
      const metrics = result.pairValues.filter((row) => row.runA === runA && row.runB === runB).map((row) => row.metric);
      expect(new Set(metrics).size).toBe(metrics.length);
      expect(metrics).toContain('fisherAB');
      expect(metrics).toContain('alignedFisherBA');
      expect(metrics).toHaveLength(8 + 3 + 1 + 2 + 2 + 6);
    }
  });
});

describe('runStepJob with a NaN weight', () => {
  it('stores NaN aligned values and a warning', async () => {
    await tf.setBackend('cpu');
    const healthy = initialParameters(config, 11);
    const broken = initialParameters(config, 12);
    broken.get('blocks.0.mlp.wUp')!.data[0] = Number.NaN;

    const result = runStepJob({
      experimentId: 1,
      step: 4,
      config,
      runs: [checkpointOf(config, 1, healthy), checkpointOf(config, 2, broken)],
      pairs: [[1, 2]],
      options: { ...DEFAULT_STEP_OPTIONS, pathPoints: 3, fisherGroups: 2 },
    });
    expect(value(result, 1, 2, 'alignedL2')).toBeNaN();
    expect(value(result, 1, 2, 'l2')).toBeNaN();
    expect(result.warnings).toEqual([expect.stringMatching(/alignment of runs 1 and 2 failed: .*finite weights/)]);
    expect(result.artifacts.find((artifact) => artifact.kind === 'permutation')).toBeUndefined();
  });
});

describe('TransformerProbe', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('approximates KL by a Fisher quadratic', () => {
    const task = taskOf(config);
    const probe = new TransformerProbe(architectureOf(config), task.probe, { fisherGroups: 3, fisherSeed: 0 });
    const start = initialParameters(config, 5);
    const direction = initialParameters(config, 6);
    const moved = new Map([...start].map(([name, tensor]) => [name, { shape: tensor.shape, data: tensor.data.map((x, i) => x + 0.01 * direction.get(name)!.data[i]!) }]));

    // Many groups and several seeds average the sampling noise of the estimate.
    const estimates = [0, 1, 2, 3].map((seed) => {
      const fisherProbe = new TransformerProbe(architectureOf(config), task.probe, { fisherGroups: 3, fisherSeed: seed });
      return fisherQuadratic(fisherProbe.diagonalFisher(start), start, moved);
    });
    const estimate = estimates.reduce((sum, x) => sum + x, 0) / estimates.length;

    const payload = runStepJob({
      experimentId: 1,
      step: 1,
      config,
      runs: [checkpointOf(config, 1, start), checkpointOf(config, 2, moved)],
      pairs: [[1, 2]],
      options: { ...DEFAULT_STEP_OPTIONS, pathPoints: 2, fisherGroups: 3 },
    });
    const kl = payload.pairValues.find((row) => row.metric === 'klAB')!.value;
    // The diagonal drops off-diagonal terms and the estimate is sampled, so only agreement within 2× is checked.
    expect(estimate / kl).toBeGreaterThan(0.5);
    expect(estimate / kl).toBeLessThan(2);
    expect(probe.residuals(start)).toHaveLength(config.model.nLayers + 1);
  });

  it('leaves no tensors behind', () => {
    const probe = new TransformerProbe(architectureOf(config), taskOf(config).probe, { fisherGroups: 2, fisherSeed: 0 });
    const parameters = initialParameters(config, 7);
    const before = tf.memory().numTensors;
    probe.lossAlongPath(parameters, parameters, [0, 1]);
    probe.diagonalFisher(parameters);
    probe.residuals(parameters);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is flat to an aligned permutation', () => {
    const parameters = initialParameters(config, 8);
    const layout = layoutOf(parameters, config.model.nHeads);
    const permuted = applyPermutation(parameters, permutationFor(parameters, 80), layout);
    const { aligned } = alignParameters(parameters, permuted, layout);
    const probe = new TransformerProbe(architectureOf(config), taskOf(config).probe, { fisherGroups: 2, fisherSeed: 0 });
    const losses = probe.lossAlongPath(parameters, aligned, [0, 0.5, 1]);
    expect(losses[1]).toBeCloseTo(losses[0]!, 5);
  });
});
