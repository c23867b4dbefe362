import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { Matrix, solve } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { kfacSchema } from '../../../core/spec';
import type { NamedTensor } from '../../../core/tensors/safetensors';
import { CurvatureError, createOptimizer } from '../../../worker/optim';
import type { Batch, GradMap, ParamMap } from '../../../worker/optim/optimizer';
import { disposeAll, valuesOf } from './helpers';
import { expectBitExactResume } from './resume';
import { buildTinyModel, disposeBatch, gradients, logProbsOf, tinyBatch, tinyContext } from './tinyModel';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const kfac = (overrides: Record<string, unknown> = {}) => kfacSchema.parse({ kind: 'kfac', ...overrides });

function entry(state: NamedTensor[], name: string): Matrix {
  const found = state.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`state has no entry ${name}`);
  return Matrix.from1DArray(found.shape[0], found.shape[1], Array.from(found.data));
}

/** Returns (1/N) Σ rowᵢ rowᵢᵀ over the rows of a [N, k] tensor, with a 1 appended to each row when `withOne`. */
function meanOuterProduct(tensor: tf.Tensor, withOne: boolean): Matrix {
  const [rows, columns] = tensor.shape;
  const data = tensor.dataSync();
  const size = withOne ? columns! + 1 : columns!;
  const sum = Matrix.zeros(size, size);
  for (let n = 0; n < rows; n += 1) {
    const row = Array.from(data.subarray(n * columns!, (n + 1) * columns!));
    if (withOne) row.push(1);
    for (let i = 0; i < size; i += 1) for (let j = 0; j < size; j += 1) sum.set(i, j, sum.get(i, j) + row[i] * row[j]);
  }
  return sum.div(rows);
}

function expectMatrixClose(actual: Matrix, expected: Matrix, tolerance: number): void {
  expect([actual.rows, actual.columns]).toEqual([expected.rows, expected.columns]);
  const scale = Math.max(1e-12, ...expected.to1DArray().map(Math.abs));
  const error = Math.max(...Matrix.sub(actual, expected).to1DArray().map(Math.abs));
  expect(error / scale).toBeLessThan(tolerance);
}

function kronecker(a: Matrix, b: Matrix): Matrix {
  const out = Matrix.zeros(a.rows * b.rows, a.columns * b.columns);
  for (let i = 0; i < a.rows; i += 1)
    for (let j = 0; j < a.columns; j += 1)
      for (let k = 0; k < b.rows; k += 1)
        for (let l = 0; l < b.columns; l += 1) out.set(i * b.rows + k, j * b.columns + l, a.get(i, j) * b.get(k, l));
  return out;
}

/** Takes one optimizer step on `batch` and returns the gradients it used (owned by the caller). */
function stepOn(optimizer: ReturnType<typeof createOptimizer>, params: ParamMap, batch: Batch, step: number, lr: number): GradMap {
  const { grads } = gradients(params, batch);
  optimizer.step(params, grads, tinyContext(params, batch, step, lr, 7 + step));
  return grads;
}

const spec = { vocab: 5, dModel: 3, dMlp: 4, seed: 1 };

describe('Kfac factors', () => {
  it('equal mean outer products of the captures', () => {
    const params = buildTinyModel(spec);
    const batches = [tinyBatch(5, 4, 6, 11), tinyBatch(5, 4, 6, 12)];
    const optimizer = createOptimizer(kfac({ fisher: 'empirical', inverseEvery: 1 }), params);

    // lr 0 keeps the parameters, so both batches' captures come from the same model.
    const expectedA: Matrix[] = [];
    const expectedG: Matrix[] = [];
    for (const [i, batch] of batches.entries()) {
      const captures = tinyContext(params, batch, i + 1, 0, 0).captureLinears('data');
      const up = captures.find((capture) => capture.weight === 'blocks.0.mlp.wUp')!;
      expectedA.push(meanOuterProduct(up.inputs, true));
      expectedG.push(meanOuterProduct(up.outputGrads, false));
      for (const capture of captures) tf.dispose([capture.inputs, capture.outputGrads]);
      disposeAll(stepOn(optimizer, params, batch, i + 1, 0));
    }

    const state = optimizer.saveState();
    const decay = 0.95;
    const averageA = Matrix.add(Matrix.mul(expectedA[0], decay), Matrix.mul(expectedA[1], 1 - decay));
    const averageG = Matrix.add(Matrix.mul(expectedG[0], decay), Matrix.mul(expectedG[1], 1 - decay));
    expectMatrixClose(entry(state, 'kronecker.A.blocks.0.mlp.wUp'), averageA, 1e-5);
    expectMatrixClose(entry(state, 'kronecker.G.blocks.0.mlp.wUp'), averageG, 1e-5);
    expect(entry(state, 'kronecker.A.unembedding').rows).toBe(3);

    optimizer.dispose();
    batches.forEach(disposeBatch);
    disposeAll(params);
  });

  it('use per-position output gradients of the summed loss', () => {
    // For the output layer, ∂ℓ/∂logits at one position is softmax(logits) − onehot(target), with no 1/N factor.
    const params = buildTinyModel(spec);
    const batch = tinyBatch(5, 2, 3, 13);
    const captures = tinyContext(params, batch, 1, 0, 0).captureLinears('data');
    const output = captures.find((capture) => capture.weight === 'unembedding')!;

    const expected = tf.tidy(() => tf.sub(tf.exp(logProbsOf(params, batch)), tf.oneHot(tf.reshape(batch.targets, [-1]) as tf.Tensor1D, 5)));
    const actual = Array.from(output.outputGrads.dataSync());
    Array.from(expected.dataSync()).forEach((value, i) => expect(actual[i]).toBeCloseTo(value, 6));

    for (const capture of captures) tf.dispose([capture.inputs, capture.outputGrads]);
    tf.dispose(expected);
    disposeBatch(batch);
    disposeAll(params);
  });
});

describe('Kfac step', () => {
  it('equals the dense damped Kronecker solve', () => {
    const params = buildTinyModel(spec);
    const batch = tinyBatch(5, 4, 6, 21);
    const damping = 0.05;
    const optimizer = createOptimizer(kfac({ damping, klClip: 1e6, inverseEvery: 1 }), params);
    const before = valuesOf(params);

    const grads = stepOn(optimizer, params, batch, 1, 1);
    const state = optimizer.saveState();
    const after = valuesOf(params);

    // vec of the row-major [dIn + 1, dOut] gradient: ∇W rows, then the bias row.
    const a = entry(state, 'kronecker.A.blocks.0.mlp.wUp');
    const g = entry(state, 'kronecker.G.blocks.0.mlp.wUp');
    const dampedA = Matrix.add(a, Matrix.eye(a.rows).mul(damping));
    const dampedG = Matrix.add(g, Matrix.eye(g.rows).mul(damping));
    const gradient = [...grads.get('blocks.0.mlp.wUp')!.dataSync(), ...grads.get('blocks.0.mlp.bUp')!.dataSync()];
    const natural = solve(kronecker(dampedA, dampedG), Matrix.columnVector(gradient)).to1DArray();

    const change = [...after['blocks.0.mlp.wUp'], ...after['blocks.0.mlp.bUp']].map(
      (value, i) => value - [...before['blocks.0.mlp.wUp'], ...before['blocks.0.mlp.bUp']][i],
    );
    const scale = Math.max(...natural.map(Math.abs));
    change.forEach((value, i) => expect(Math.abs(value + natural[i]) / scale).toBeLessThan(1e-4));

    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params, grads);
  });

  it('matches the exact Fisher of softmax regression at one point', () => {
    // One input token repeated at every position: the unembedding layer receives a single input x, so the exact
    // Fisher is (x xᵀ) ⊗ (diag p − p pᵀ), and K-FAC differs from it only through the sampled labels in G.
    // The reference is damped the way K-FAC damps, (x xᵀ + λI) ⊗ (diag p − p pᵀ + λI).
    const vocab = 3;
    const params = buildTinyModel({ vocab, dModel: 2, dMlp: 0, seed: 4 });
    const inputs = tf.zeros([64, 64], 'int32') as tf.Tensor2D;
    const targets = tf.fill([64, 64], 1, 'int32') as tf.Tensor2D;
    const batch = { inputs, targets };
    const damping = 1e-3;
    const optimizer = createOptimizer(kfac({ damping, klClip: 1e6, inverseEvery: 1 }), params);

    const x = Array.from(params.get('tokenEmbedding')!.dataSync().subarray(0, 2));
    const p = Array.from(tf.tidy(() => tf.exp(logProbsOf(params, batch))).dataSync().subarray(0, vocab));
    const { grads } = gradients(params, batch);
    const gradient = Array.from(grads.get('unembedding')!.dataSync());
    const before = Array.from(params.get('unembedding')!.dataSync());
    grads.get('tokenEmbedding')!.dispose();
    grads.delete('tokenEmbedding');
    optimizer.step(params, grads, tinyContext(params, batch, 1, 1, 3));
    const change = Array.from(params.get('unembedding')!.dataSync()).map((value, i) => value - before[i]);

    const outer = new Matrix([x]).transpose().mmul(new Matrix([x]));
    const softmaxCovariance = Matrix.diag(p).sub(Matrix.columnVector(p).mmul(new Matrix([p])));
    const dampedOuter = Matrix.add(outer, Matrix.eye(2).mul(damping));
    const dampedCovariance = Matrix.add(softmaxCovariance, Matrix.eye(vocab).mul(damping));
    const fisher = kronecker(dampedOuter, dampedCovariance);
    const exact = solve(fisher, Matrix.columnVector(gradient)).to1DArray();

    const norm = (values: number[]) => Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));
    const cosine = change.reduce((sum, value, i) => sum - value * exact[i], 0) / (norm(change) * norm(exact));
    expect(cosine).toBeGreaterThan(0.99);
    expect(norm(change) / norm(exact)).toBeGreaterThan(0.9);
    expect(norm(change) / norm(exact)).toBeLessThan(1.1);

    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params, grads);
  });

  it('clips the step to the KL budget', () => {
    const params = buildTinyModel(spec);
    const batch = tinyBatch(5, 4, 6, 31);
    const optimizer = createOptimizer(kfac({ klClip: 1e-4 }), params);
    const { grads } = gradients(params, batch);
    const diagnostics = optimizer.step(params, grads, tinyContext(params, batch, 1, 1, 5));

    expect(diagnostics['opt.klScale']).toBeLessThan(1);
    expect(diagnostics['opt.predictedKl']).toBeCloseTo(0.5e-4, 10);
    expect(diagnostics['opt.stepKl']).toBeGreaterThan(0);
    expect(diagnostics['opt.damping']).toBe(3e-2);
    expect(diagnostics['opt.fallbackParameters']).toBe(1);

    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params, grads);
  });

  it('stays finite with singular factors', () => {
    // Zero embeddings make every layer input zero, so A is zero apart from the bias entry.
    const params = buildTinyModel(spec);
    params.get('tokenEmbedding')!.assign(tf.zeros([5, 3]));
    const batch = tinyBatch(5, 2, 3, 41);
    const optimizer = createOptimizer(kfac({ inverseEvery: 1 }), params);
    disposeAll(stepOn(optimizer, params, batch, 1, 0.1));
    for (const values of Object.values(valuesOf(params))) expect(values.every(Number.isFinite)).toBe(true);

    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params);
  });

  it('throws CurvatureError on NaN gradients', () => {
    const params = buildTinyModel(spec);
    const batch = tinyBatch(5, 2, 3, 42);
    const optimizer = createOptimizer(kfac(), params);
    const { grads } = gradients(params, batch);
    grads.get('blocks.0.mlp.wUp')!.dispose();
    grads.set('blocks.0.mlp.wUp', tf.fill([3, 4], NaN));
    expect(() => optimizer.step(params, grads, tinyContext(params, batch, 1, 0.1, 1))).toThrow(CurvatureError);

    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params, grads);
  });
});

describe('Kfac training', () => {
  it.each(['adam', 'diagonal'] as const)('lowers the loss without leaks (%s fallback)', (fallback) => {
    const params = buildTinyModel(spec);
    const batch = tinyBatch(5, 8, 8, 51);
    const optimizer = createOptimizer(kfac({ fallback, inverseEvery: 3, adaptiveDamping: true, momentum: 0.5 }), params);
    const initial = gradients(params, batch);
    disposeAll(initial.grads);

    let tensors = -1;
    for (let step = 1; step <= 30; step += 1) {
      disposeAll(stepOn(optimizer, params, batch, step, 0.3));
      if (step === 1) tensors = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensors);
    const final = gradients(params, batch);
    expect(final.loss).toBeLessThan(initial.loss * 0.7);
    expect(optimizer.describe?.()).toContain(`${fallback} fallback for tokenEmbedding`);

    disposeAll(final.grads);
    optimizer.dispose();
    disposeBatch(batch);
    disposeAll(params);
  });

  it('resumes bit-exactly from saved state', () => {
    const batches = Array.from({ length: 6 }, (_, i) => tinyBatch(5, 4, 4, 60 + i));
    expectBitExactResume({
      config: kfac({ inverseEvery: 2, adaptiveDamping: true, momentum: 0.5 }),
      spec,
      steps: 6,
      resumeAfter: 3,
      takeStep: (optimizer, params, i) => disposeAll(stepOn(optimizer, params, batches[i], i + 1, 0.2)),
    });
    batches.forEach(disposeBatch);
  });
});
