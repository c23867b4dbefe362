import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { shampooSchema } from '../../../core/spec';
import { CurvatureError, createOptimizer } from '../../../worker/optim';
import { inverseRoot } from '../../../worker/optim/linalg';
import type { Batch, ParamMap } from '../../../worker/optim/optimizer';
import { disposeAll, disposeContext, firstOrderContext, gradsFrom, paramsFrom } from './helpers';
import { expectBitExactResume } from './resume';
import { buildTinyModel, disposeBatch, gradients, tinyBatch, tinyContext } from './tinyModel';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const shampoo = (overrides: Record<string, unknown> = {}) => shampooSchema.parse({ kind: 'shampoo', ...overrides });

function maxAbsDifference(a: Matrix, b: Matrix): number {
  return Math.max(...Matrix.sub(a, b).to1DArray().map(Math.abs));
}

/**
 * A context that measures no KL: Shampoo on a bare parameter has no model, so
 * klTo returns 0 and the other model methods throw.
 */
function bareContext(step: number, lr: number) {
  const context = firstOrderContext(step, lr);
  context.klTo = () => 0;
  return context;
}

describe('inverseRoot', () => {
  it('inverts the fourth power of a positive definite matrix', () => {
    const base = new Matrix([
      [2, 0.5, 0.1],
      [0.5, 1, 0.3],
      [0.1, 0.3, 0.8],
    ]);
    const root = inverseRoot(base, 4, 1e-12, 'test');
    const fourth = root.mmul(root).mmul(root).mmul(root);
    expect(maxAbsDifference(fourth.mmul(base), Matrix.eye(3))).toBeLessThan(1e-10);
    expect(maxAbsDifference(root, root.transpose())).toBeLessThan(1e-12);
  });

  it('floors zero eigenvalues relative to the largest', () => {
    const root = inverseRoot(Matrix.diag([16, 1, 0]), 4, 1e-4, 'test');
    // Eigenvalues 16, 1 and max(0, 16 · 1e-4) = 0.0016: their −1/4 powers are 0.5, 1 and 5.
    expect(maxAbsDifference(root, Matrix.diag([0.5, 1, 5]))).toBeLessThan(1e-12);
  });

  it('rejects NaN with CurvatureError', () => {
    expect(() => inverseRoot(new Matrix([[NaN]]), 4, 1e-6, 'L of w')).toThrow(CurvatureError);
  });
});

describe('Shampoo step', () => {
  it('equals the dense matrix-root formula with SGD grafting', () => {
    // With L = εI + G Gᵀ and R = εI + Gᵀ G after one step and G = U Σ Vᵀ,
    // L^(-1/4) G R^(-1/4) = U diag(σ / √(σ² + ε)) Vᵀ; grafting rescales it to ‖G‖.
    const epsilon = 0.1;
    const gradient = new Matrix([
      [0.3, -1.2, 0.5],
      [0.8, 0.4, -0.6],
    ]);
    const params = paramsFrom({ w: { shape: [2, 3], values: [0, 0, 0, 0, 0, 0] } });
    const optimizer = createOptimizer(shampoo({ epsilon, graft: 'sgd', beta1: 0, preconditionEvery: 1 }), params);
    const grads = gradsFrom({ w: gradient.to1DArray() }, params);
    const context = bareContext(1, 0.5);
    optimizer.step(params, grads, context);

    const svd = new SingularValueDecomposition(gradient, { autoTranspose: true });
    const shrunk = svd.diagonal.map((sigma) => sigma / Math.sqrt(sigma * sigma + epsilon));
    const direction = svd.leftSingularVectors.mmul(Matrix.diag(shrunk)).mmul(svd.rightSingularVectors.transpose());
    const expected = direction.mul((-0.5 * gradient.norm('frobenius')) / direction.norm('frobenius'));
    const actual = Matrix.from1DArray(2, 3, Array.from(params.get('w')!.dataSync()));
    expect(maxAbsDifference(actual, expected)).toBeLessThan(1e-5);

    disposeContext(context);
    optimizer.dispose();
    disposeAll(params, grads);
  });

  it('accumulates the statistics as a sum', () => {
    const params = paramsFrom({ w: { shape: [2, 2], values: [1, 2, 3, 4] } });
    const optimizer = createOptimizer(shampoo({ epsilon: 0.01 }), params);
    for (const [step, values] of [[1, 0, 0, 2], [0, 1, 1, 0]].entries()) {
      const grads = gradsFrom({ w: values }, params);
      const context = bareContext(step + 1, 0.1);
      optimizer.step(params, grads, context);
      disposeContext(context);
      disposeAll(grads);
    }

    // G₁ = [[1, 0], [0, 2]], G₂ = [[0, 1], [1, 0]]: L = 0.01 I + diag(1, 4) + I.
    const left = optimizer.saveState().find((entry) => entry.name === 'L.w')!;
    expect(Array.from(left.data)).toEqual([2.01, 0, 0, 5.01].map((value) => expect.closeTo(value, 12)));

    optimizer.dispose();
    disposeAll(params);
  });

  it('leaves parameters unchanged for a zero gradient', () => {
    const params = paramsFrom({ w: { shape: [2, 2], values: [1, 2, 3, 4] } });
    const optimizer = createOptimizer(shampoo({ graft: 'sgd', beta1: 0 }), params);
    const grads = gradsFrom({ w: [0, 0, 0, 0] }, params);
    const context = bareContext(1, 0.1);
    optimizer.step(params, grads, context);
    expect(Array.from(params.get('w')!.dataSync())).toEqual([1, 2, 3, 4]);

    disposeContext(context);
    optimizer.dispose();
    disposeAll(params, grads);
  });

  it('throws CurvatureError on NaN gradients', () => {
    const params = paramsFrom({ w: { shape: [2, 2], values: [1, 2, 3, 4] } });
    const optimizer = createOptimizer(shampoo(), params);
    const grads = gradsFrom({ w: [NaN, 0, 0, 1] }, params);
    const context = bareContext(1, 0.1);
    expect(() => optimizer.step(params, grads, context)).toThrow(CurvatureError);

    disposeContext(context);
    optimizer.dispose();
    disposeAll(params, grads);
  });
});

const spec = { vocab: 5, dModel: 3, dMlp: 4, seed: 2 };

function stepOn(optimizer: ReturnType<typeof createOptimizer>, params: ParamMap, batch: Batch, step: number, lr: number) {
  const { grads } = gradients(params, batch);
  const diagnostics = optimizer.step(params, grads, tinyContext(params, batch, step, lr, step));
  disposeAll(grads);
  return diagnostics;
}

describe('Shampoo training', () => {
  it.each(['adam', 'sgd'] as const)('lowers the loss without leaks (%s graft)', (graft) => {
    const params = buildTinyModel(spec);
    const batch = tinyBatch(5, 8, 8, 71);
    const optimizer = createOptimizer(shampoo({ graft, preconditionEvery: 3 }), params);
    const initial = gradients(params, batch);
    disposeAll(initial.grads);

    let tensors = -1;
    let diagnostics: Record<string, number> = {};
    for (let step = 1; step <= 30; step += 1) {
      diagnostics = stepOn(optimizer, params, batch, step, graft === 'adam' ? 0.05 : 0.3);
      if (step === 1) tensors = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensors);
    const final = gradients(params, batch);
    expect(final.loss).toBeLessThan(initial.loss * 0.7);
    expect(diagnostics['opt.stepKl']).toBeGreaterThan(0);
    expect(optimizer.describe?.()).toContain('preconditions blocks.0.mlp.wUp, blocks.0.mlp.wDown, unembedding');

    disposeAll(final.grads);
    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params);
  });

  it('resumes bit-exactly from saved state', () => {
    const batches = Array.from({ length: 6 }, (_, i) => tinyBatch(5, 4, 4, 80 + i));
    expectBitExactResume({
      config: shampoo({ preconditionEvery: 2, decay: 0.9 }),
      spec,
      steps: 6,
      resumeAfter: 3,
      takeStep: (optimizer, params, i) => stepOn(optimizer, params, batches[i], i + 1, 0.05),
    });
    batches.forEach(disposeBatch);
  });
});
