/**
 * Test builders for the optimizers: parameter and gradient maps from plain
 * arrays, and a step context for first-order optimizers, which read only
 * `step` and `lr` from it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradMap, ParamMap, StepContext } from '../../../worker/optim/optimizer';

export type Values = Record<string, { shape: number[]; values: number[] }>;

export function paramsFrom(values: Values): ParamMap {
  const params: ParamMap = new Map();
  for (const [name, { shape, values: data }] of Object.entries(values)) {
    params.set(name, tf.variable(tf.tensor(data, shape, 'float32'), true, `${name}-${Math.random()}`));
  }
  return params;
}

export function gradsFrom(values: Record<string, number[]>, params: ParamMap): GradMap {
  const grads: GradMap = new Map();
  for (const [name, data] of Object.entries(values)) grads.set(name, tf.tensor(data, params.get(name)!.shape, 'float32'));
  return grads;
}

/** Builds a step context whose model-dependent methods throw, because first-order optimizers must not call them. */
export function firstOrderContext(step: number, lr: number): StepContext {
  const unused = (method: string) => () => {
    throw new Error(`first-order optimizers must not call StepContext.${method}`);
  };
  return {
    step,
    lr,
    batch: { inputs: tf.zeros([1, 1]) as tf.Tensor2D, targets: tf.zeros([1, 1]) as tf.Tensor2D },
    logits: unused('logits'),
    captureLinears: unused('captureLinears'),
    klTo: unused('klTo'),
    lossAt: unused('lossAt'),
  };
}

export function disposeContext(context: StepContext): void {
  context.batch.inputs.dispose();
  context.batch.targets.dispose();
}

export function disposeAll(...maps: Array<Map<string, tf.Tensor>>): void {
  for (const map of maps) for (const tensor of map.values()) tensor.dispose();
}

/** Random parameters and per-step gradients from fixed seeds, shaped like a small two-layer model. */
export function randomProblem(steps: number): { values: Values; gradSteps: Array<Record<string, number[]>> } {
  const shapes: Record<string, number[]> = { 'layer.w': [3, 4], 'layer.b': [4], 'out.w': [4, 2] };
  const draw = (shape: number[], seed: number) =>
    tf.tidy(() => Array.from(tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync()));

  const values: Values = {};
  Object.entries(shapes).forEach(([name, shape], i) => {
    values[name] = { shape, values: draw(shape, 100 + i) };
  });
  const gradSteps = Array.from({ length: steps }, (_, step) => {
    const grads: Record<string, number[]> = {};
    Object.entries(shapes).forEach(([name, shape], i) => {
      grads[name] = draw(shape, 1000 * (step + 1) + i);
    });
    return grads;
  });
  return { values, gradSteps };
}

export function valuesOf(params: ParamMap): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, param] of params) out[name] = Float32Array.from(param.dataSync() as Float32Array);
  return out;
}
