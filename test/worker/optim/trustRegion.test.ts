import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { Matrix, solve } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { trustRegionSchema } from '../../../core/spec';
import { CurvatureError, createOptimizer } from '../../../worker/optim';
import { FisherVectorProduct, disposeVector } from '../../../worker/optim/fisher';
import type { Batch, GradMap, ParamMap } from '../../../worker/optim/optimizer';
import { disposeAll, valuesOf } from './helpers';
import { expectBitExactResume } from './resume';
import { buildTinyModel, disposeBatch, gradients, logProbsOf, tinyBatch, tinyContext } from './tinyModel';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trustRegion = (overrides: Record<string, unknown> = {}) => trustRegionSchema.parse({ kind: 'trust-region', ...overrides });

function kronecker(a: Matrix, b: Matrix): Matrix {
  const out = Matrix.zeros(a.rows * b.rows, a.columns * b.columns);
  for (let i = 0; i < a.rows; i += 1)
    for (let j = 0; j < a.columns; j += 1)
      for (let k = 0; k < b.rows; k += 1)
        for (let l = 0; l < b.columns; l += 1) out.set(i * b.rows + k, j * b.columns + l, a.get(i, j) * b.get(k, l));
  return out;
}

const norm = (values: number[]) => Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));

/**
 * Softmax regression at one point: token 0 at every position, so the
 * unembedding receives one input x and its exact Fisher is (x xᵀ) ⊗ (diag p − p pᵀ).
 */
function onePointProblem() {
  const vocab = 3;
  const params = buildTinyModel({ vocab, dModel: 2, dMlp: 0, seed: 4 });
  const batch = { inputs: tf.zeros([4, 8], 'int32') as tf.Tensor2D, targets: tf.fill([4, 8], 1, 'int32') as tf.Tensor2D };
  const x = Array.from(params.get('tokenEmbedding')!.dataSync().subarray(0, 2));
  const p = Array.from(tf.tidy(() => tf.exp(logProbsOf(params, batch))).dataSync().subarray(0, vocab));
  const outer = new Matrix([x]).transpose().mmul(new Matrix([x]));
  const softmaxCovariance = Matrix.diag(p).sub(Matrix.columnVector(p).mmul(new Matrix([p])));
  return { params, batch, fisher: kronecker(outer, softmaxCovariance) };
}

/** Gradients of the unembedding only, so the embedding stays fixed. */
function unembeddingGradient(params: ParamMap, batch: Batch): GradMap {
  const { grads } = gradients(params, batch);
  grads.get('tokenEmbedding')!.dispose();
  grads.delete('tokenEmbedding');
  return grads;
}

describe('FisherVectorProduct', () => {
  it('matches the dense Fisher of softmax regression', () => {
    const { params, batch, fisher } = onePointProblem();
    const context = tinyContext(params, batch, 1, 1, 0);
    const product = new FisherVectorProduct(params, context);
    const v = [0.3, -0.2, 0.5, 1.1, 0.4, -0.7];
    const result = product.apply(new Map([['unembedding', tf.tensor(v, [2, 3])]]));

    const expected = fisher.mmul(Matrix.columnVector(v)).to1DArray();
    const actual = Array.from(result.get('unembedding')!.dataSync());
    actual.forEach((value, i) => expect(Math.abs(value - expected[i])).toBeLessThan(1e-3 * norm(expected)));

    disposeVector(result);
    product.dispose();
    disposeBatch(batch);
    disposeAll(params);
  });
});

describe('TrustRegion step', () => {
  it('follows the exact natural gradient at one point', () => {
    const { params, batch, fisher } = onePointProblem();
    const damping = 1e-3;
    const optimizer = createOptimizer(trustRegion({ damping, cgIterations: 20, maxKl: 1e-4 }), params);
    const grads = unembeddingGradient(params, batch);
    const gradient = Array.from(grads.get('unembedding')!.dataSync());
    const before = Array.from(params.get('unembedding')!.dataSync());
    const diagnostics = optimizer.step(params, grads, tinyContext(params, batch, 1, 1, 0));
    const change = Array.from(params.get('unembedding')!.dataSync()).map((value, i) => value - before[i]);

    const damped = Matrix.add(fisher, Matrix.eye(6).mul(damping));
    const natural = solve(damped, Matrix.columnVector(gradient)).to1DArray();
    const cosine = -change.reduce((sum, value, i) => sum + value * natural[i], 0) / (norm(change) * norm(natural));
    expect(cosine).toBeGreaterThan(0.999);
    expect(diagnostics['opt.accepted']).toBe(1);
    expect(diagnostics['opt.stepKl']).toBeLessThanOrEqual(1e-4);
    expect(diagnostics['opt.stepKl']).toBeGreaterThan(0.5e-4);

    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params, grads);
  });

  it.each(['cg', 'kfac'] as const)('keeps the measured KL within the budget (%s)', (direction) => {
    const params = buildTinyModel({ vocab: 5, dModel: 3, dMlp: 4, seed: 3 });
    const batch = tinyBatch(5, 4, 6, 91);
    const maxKl = 1e-3;
    const optimizer = createOptimizer(trustRegion({ maxKl, direction }), params);
    const logProbsBefore = logProbsOf(params, batch);
    const { grads } = gradients(params, batch);
    const diagnostics = optimizer.step(params, grads, tinyContext(params, batch, 1, 1, 5));

    // KL(p_before ‖ p_after) on the same batch, computed apart from the optimizer.
    const logProbsAfter = logProbsOf(params, batch);
    const kl = tf.tidy(() => tf.mean(tf.sum(tf.mul(tf.exp(logProbsBefore), tf.sub(logProbsBefore, logProbsAfter)), 1)).dataSync()[0]);
    expect(diagnostics['opt.accepted']).toBe(1);
    expect(kl).toBeLessThanOrEqual(maxKl);
    expect(kl).toBeGreaterThan(0);
    expect(diagnostics['opt.stepKl']).toBeCloseTo(kl, 8);

    tf.dispose([logProbsBefore, logProbsAfter]);
    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params, grads);
  });

  it('takes no step for a zero gradient', () => {
    const params = buildTinyModel({ vocab: 5, dModel: 3, dMlp: 4, seed: 3 });
    const batch = tinyBatch(5, 2, 3, 92);
    const optimizer = createOptimizer(trustRegion(), params);
    const grads: GradMap = new Map([...params].map(([name, param]) => [name, tf.zerosLike(param)]));
    const before = valuesOf(params);
    const diagnostics = optimizer.step(params, grads, tinyContext(params, batch, 1, 1, 0));
    expect(diagnostics['opt.accepted']).toBe(0);
    expect(valuesOf(params)).toEqual(before);

    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params, grads);
  });

  it('throws CurvatureError on NaN gradients', () => {
    const params = buildTinyModel({ vocab: 5, dModel: 3, dMlp: 4, seed: 3 });
    const batch = tinyBatch(5, 2, 3, 93);
    const optimizer = createOptimizer(trustRegion(), params);
    const grads: GradMap = new Map([...params].map(([name, param]) => [name, tf.fill(param.shape, NaN)]));
    expect(() => optimizer.step(params, grads, tinyContext(params, batch, 1, 1, 0))).toThrow(CurvatureError);

    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params, grads);
  });
});

describe('TrustRegion training', () => {
  it.each(['cg', 'kfac'] as const)('lowers the loss without leaks (%s)', (direction) => {
    const params = buildTinyModel({ vocab: 5, dModel: 3, dMlp: 4, seed: 5 });
    const batch = tinyBatch(5, 8, 8, 95);
    const optimizer = createOptimizer(trustRegion({ maxKl: 0.02, direction, cgIterations: 5 }), params);
    const initial = gradients(params, batch);
    disposeAll(initial.grads);

    let tensors = -1;
    for (let step = 1; step <= 15; step += 1) {
      const { grads } = gradients(params, batch);
      optimizer.step(params, grads, tinyContext(params, batch, step, 1, step));
      disposeAll(grads);
      if (step === 1) tensors = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensors);
    const final = gradients(params, batch);
    expect(final.loss).toBeLessThan(initial.loss * 0.8);

    disposeAll(final.grads);
    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params);
  });

  it('resumes bit-exactly from saved state (kfac)', () => {
    const batches = Array.from({ length: 4 }, (_, i) => tinyBatch(5, 4, 4, 100 + i));
    expectBitExactResume({
      config: trustRegion({ direction: 'kfac', maxKl: 0.01 }),
      spec: { vocab: 5, dModel: 3, dMlp: 4, seed: 6 },
      steps: 4,
      resumeAfter: 2,
      takeStep: (optimizer, params, i) => {
        const { grads } = gradients(params, batches[i]);
        optimizer.step(params, grads, tinyContext(params, batches[i], i + 1, 1, i));
        disposeAll(grads);
      },
    });
    batches.forEach(disposeBatch);
  });
});
