import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { optimizerSchema, type OptimizerConfig } from '../../../core/spec';
import { decodeSafetensors, encodeSafetensors } from '../../../core/tensors/safetensors';
import { createOptimizer } from '../../../worker/optim';
import { disposeAll, disposeContext, firstOrderContext, gradsFrom, paramsFrom, randomProblem, valuesOf } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Runs the optimizer on θ = [1, 2] with gradients [0.5, −1] then [0.25, 1] at lr 0.1 and returns θ after each step. */
function twoSteps(config: OptimizerConfig): number[][] {
  const params = paramsFrom({ theta: { shape: [2], values: [1, 2] } });
  const optimizer = createOptimizer(config, params);
  const trajectory: number[][] = [];
  [[0.5, -1], [0.25, 1]].forEach((grad, i) => {
    const grads = gradsFrom({ theta: grad }, params);
    const context = firstOrderContext(i + 1, 0.1);
    optimizer.step(params, grads, context);
    disposeContext(context);
    disposeAll(grads);
    trajectory.push(Array.from(params.get('theta')!.dataSync()));
  });
  optimizer.dispose();
  disposeAll(params);
  return trajectory;
}

function expectClose(actual: number[], expected: number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, i) => expect(value).toBeCloseTo(expected[i], digits));
}

const parse = (config: Record<string, unknown>) => optimizerSchema.parse(config);

describe('Sgd', () => {
  it('steps against the gradient without momentum', () => {
    const [first, second] = twoSteps(parse({ kind: 'sgd', lr: 0.1, momentum: 0 }));
    // θ − 0.1 g: [1 − 0.05, 2 + 0.1], then [0.95 − 0.025, 2.1 − 0.1].
    expectClose(first, [0.95, 2.1]);
    expectClose(second, [0.925, 2.0]);
  });

  it('accumulates heavy-ball momentum', () => {
    const [first, second] = twoSteps(parse({ kind: 'sgd', lr: 0.1, momentum: 0.9 }));
    // b₁ = g₁ = [0.5, −1]; b₂ = 0.9 b₁ + g₂ = [0.7, 0.1].
    expectClose(first, [0.95, 2.1]);
    expectClose(second, [0.88, 2.09]);
  });

  it('applies Nesterov momentum and L2 weight decay', () => {
    const [first, second] = twoSteps(parse({ kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1 }));
    // g′₁ = g₁ + 0.1 θ = [0.6, −0.8]; b₁ = g′₁; d₁ = g′₁ + 0.9 b₁ = [1.14, −1.52].
    expectClose(first, [0.886, 2.152]);
    // g′₂ = [0.3386, 1.2152]; b₂ = 0.9 b₁ + g′₂ = [0.8786, 0.4952]; d₂ = g′₂ + 0.9 b₂ = [1.12934, 1.66088].
    expectClose(second, [0.773066, 1.985912]);
  });
});

describe('Adam', () => {
  it('matches hand-derived bias-corrected steps', () => {
    const [first, second] = twoSteps(parse({ kind: 'adam', lr: 0.1 }));
    // Step 1: m̂ = g, v̂ = g², so the direction is g / (|g| + ε) ≈ sign(g).
    expectClose(first, [0.9, 2.1]);
    // Step 2: m = [0.07, 0.01], v = [0.00031225, 0.001999], 1 − β₁² = 0.19, 1 − β₂² = 0.001999,
    // so the direction is [0.368421 / 0.395225, 0.0526316 / 1] = [0.932181, 0.0526316].
    expectClose(second, [0.806782, 2.094737]);
  });
});

describe('AdamW', () => {
  it('decays weights apart from the moments', () => {
    const [first, second] = twoSteps(parse({ kind: 'adamw', lr: 0.1, weightDecay: 0.01 }));
    // θ − 0.1 (sign(g) + 0.01 θ) = [1 − 0.101, 2 + 0.098].
    expectClose(first, [0.899, 2.098]);
    // θ − 0.1 ([0.932181, 0.0526316] + 0.01 [0.899, 2.098]).
    expectClose(second, [0.804883, 2.090639]);
  });
});

const configs: OptimizerConfig[] = [
  parse({ kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  parse({ kind: 'adam' }),
  parse({ kind: 'adamw' }),
];

describe.each(configs.map((config) => [config.kind, config] as const))('%s', (_kind, config) => {
  it('leaks no tensors in a step', () => {
    const { values, gradSteps } = randomProblem(3);
    const params = paramsFrom(values);
    const optimizer = createOptimizer(config, params);

    for (const [i, gradValues] of gradSteps.entries()) {
      const grads = gradsFrom(gradValues, params);
      const context = firstOrderContext(i + 1, 0.01);
      const before = tf.memory().numTensors;
      optimizer.step(params, grads, context);
      expect(tf.memory().numTensors).toBe(before);
      disposeContext(context);
      disposeAll(grads);
    }

    const withState = tf.memory().numTensors;
    optimizer.dispose();
    expect(tf.memory().numTensors).toBeLessThan(withState);
    disposeAll(params);
  });

  it('resumes bit-exactly from saved state', () => {
    const { values, gradSteps } = randomProblem(6);
    const run = (params: ReturnType<typeof paramsFrom>, optimizer: ReturnType<typeof createOptimizer>, from: number, to: number) => {
      for (let i = from; i < to; i += 1) {
        const grads = gradsFrom(gradSteps[i], params);
        const context = firstOrderContext(i + 1, 0.01);
        optimizer.step(params, grads, context);
        disposeContext(context);
        disposeAll(grads);
      }
    };

    const uninterrupted = paramsFrom(values);
    const straight = createOptimizer(config, uninterrupted);
    run(uninterrupted, straight, 0, 6);

    const first = paramsFrom(values);
    const before = createOptimizer(config, first);
    run(first, before, 0, 3);
    const blob = encodeSafetensors(before.saveState());
    const weights = valuesOf(first);

    const resumed = paramsFrom(
      Object.fromEntries(Object.entries(weights).map(([name, data]) => [name, { shape: values[name].shape, values: Array.from(data) }])),
    );
    const after = createOptimizer(config, resumed);
    after.loadState(decodeSafetensors(blob).tensors);
    run(resumed, after, 3, 6);

    const expected = valuesOf(uninterrupted);
    const actual = valuesOf(resumed);
    for (const name of Object.keys(expected)) expect(actual[name]).toEqual(expected[name]);

    for (const optimizer of [straight, before, after]) optimizer.dispose();
    disposeAll(uninterrupted, first, resumed);
  });

  it('rejects state with a missing entry', () => {
    const { values } = randomProblem(0);
    const params = paramsFrom(values);
    const optimizer = createOptimizer(config, params);
    const state = optimizer.saveState();
    if (state.length > 0) expect(() => optimizer.loadState(state.slice(1))).toThrow(/has no entry/);
    optimizer.dispose();
    disposeAll(params);
  });
});

describe('createOptimizer', () => {
  it('rejects a gradient that matches no parameter', () => {
    const params = paramsFrom({ theta: { shape: [2], values: [1, 2] } });
    const optimizer = createOptimizer(parse({ kind: 'adam' }), params);
    const grads = new Map([['thetta', tf.tensor([1, 1])]]);
    const context = firstOrderContext(1, 0.1);
    expect(() => optimizer.step(params, grads, context)).toThrow(/"thetta" matches no parameter/);
    disposeContext(context);
    optimizer.dispose();
    disposeAll(params, grads);
  });
});
