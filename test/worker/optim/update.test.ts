import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyUpdatesMeasuringKl } from '../../../worker/optim/update';
import { disposeAll, disposeContext, firstOrderContext, gradsFrom, paramsFrom } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('applyUpdatesMeasuringKl', () => {
  it('applies the update and measures KL', () => {
    const params = paramsFrom({ a: { shape: [2], values: [1, 2] }, b: { shape: [1], values: [3] } });
    const grads = gradsFrom({ a: [3, 4] }, params);
    const context = firstOrderContext(1, 0.1);
    context.klTo = () => 0.25;

    const measured = applyUpdatesMeasuringKl(params, grads, context, (_name, _param, grad) => tf.neg(grad));
    expect(measured.stepKl).toBe(0.25);
    expect(measured.updateNorm).toBeCloseTo(5, 6);
    expect(Array.from(params.get('a')!.dataSync())).toEqual([-2, -2]);
    expect(Array.from(params.get('b')!.dataSync())).toEqual([3]);

    disposeContext(context);
    disposeAll(params, grads);
  });

  it('leaks no candidates when delta throws', () => {
    const params = paramsFrom({ a: { shape: [2], values: [1, 2] }, b: { shape: [2], values: [3, 4] } });
    const grads = gradsFrom({ a: [1, 1], b: [1, 1] }, params);
    const context = firstOrderContext(1, 0.1);
    context.klTo = () => 0;
    const tensors = tf.memory().numTensors;

    const delta = (name: string, _param: tf.Variable, grad: tf.Tensor) => {
      if (name === 'b') throw new Error('delta failed for b');
      return tf.neg(grad);
    };
    expect(() => applyUpdatesMeasuringKl(params, grads, context, delta)).toThrow('delta failed for b');
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Array.from(params.get('a')!.dataSync())).toEqual([1, 2]);

    disposeContext(context);
    disposeAll(params, grads);
  });
});
