import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipByGlobalNorm } from '../../../worker/optim';
import type { GradMap } from '../../../worker/optim/optimizer';
import { disposeAll } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Gradients [3, 0] and [[0], [4]], whose global norm is 5. */
function gradsOfNormFive(): GradMap {
  return new Map([
    ['a', tf.tensor([3, 0])],
    ['b', tf.tensor([[0], [4]])],
  ]);
}

describe('clipByGlobalNorm', () => {
  it('scales gradients down to the maximum norm', () => {
    const grads = gradsOfNormFive();
    const clipped = clipByGlobalNorm(grads, 1);
    expect(clipped.norm).toBeCloseTo(5, 6);
    expect(Array.from(clipped.grads.get('a')!.dataSync())).toEqual([expect.closeTo(0.6, 6), 0]);
    expect(Array.from(clipped.grads.get('b')!.dataSync())).toEqual([0, expect.closeTo(0.8, 6)]);
    expect(clipped.grads.get('b')!.shape).toEqual([2, 1]);
    disposeAll(grads, clipped.grads);
  });

  it('leaves gradients within the norm unchanged', () => {
    const grads = gradsOfNormFive();
    const clipped = clipByGlobalNorm(grads, 10);
    expect(clipped.norm).toBeCloseTo(5, 6);
    expect(Array.from(clipped.grads.get('a')!.dataSync())).toEqual([3, 0]);
    disposeAll(grads, clipped.grads);
  });

  it('returns new tensors and keeps the inputs', () => {
    const grads = gradsOfNormFive();
    const before = tf.memory().numTensors;
    const clipped = clipByGlobalNorm(grads, 1);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(Array.from(grads.get('a')!.dataSync())).toEqual([3, 0]);
    disposeAll(clipped.grads);
    expect(tf.memory().numTensors).toBe(before);
    disposeAll(grads);
  });

  it('passes non-finite gradients through', () => {
    const grads: GradMap = new Map([['a', tf.tensor([NaN, 1])]]);
    const clipped = clipByGlobalNorm(grads, 1);
    expect(clipped.norm).toBeNaN();
    expect(clipped.grads.get('a')!.dataSync()[1]).toBe(1);
    disposeAll(grads, clipped.grads);
  });

  it('handles zero gradients', () => {
    const grads: GradMap = new Map([['a', tf.zeros([3])]]);
    const clipped = clipByGlobalNorm(grads, 1);
    expect(clipped.norm).toBe(0);
    expect(Array.from(clipped.grads.get('a')!.dataSync())).toEqual([0, 0, 0]);
    disposeAll(grads, clipped.grads);
  });

  it('rejects a non-positive maximum', () => {
    expect(() => clipByGlobalNorm(new Map(), 0)).toThrow(/positive finite/);
  });
});
