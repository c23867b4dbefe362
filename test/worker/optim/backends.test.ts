import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { optimizerSchema } from '../../../core/spec';
import { createOptimizer } from '../../../worker/optim';
import { disposeAll, disposeContext, firstOrderContext, gradsFrom, paramsFrom, randomProblem, valuesOf } from './helpers';

afterAll(async () => {
  await tf.setBackend('cpu');
});

const configs = [
  optimizerSchema.parse({ kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  optimizerSchema.parse({ kind: 'adam' }),
  optimizerSchema.parse({ kind: 'adamw' }),
];

async function trainOn(backend: string, config: (typeof configs)[number]): Promise<Record<string, Float32Array>> {
  await tf.setBackend('cpu');
  const { values, gradSteps: steps } = randomProblem(5);
  await tf.setBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  const params = paramsFrom(values);
  const optimizer = createOptimizer(config, params);
  steps.forEach((gradValues, i) => {
    const grads = gradsFrom(gradValues, params);
    const context = firstOrderContext(i + 1, 0.05);
    optimizer.step(params, grads, context);
    disposeContext(context);
    disposeAll(grads);
  });
  const result = valuesOf(params);
  optimizer.dispose();
  disposeAll(params);
  return result;
}

describe.each(configs.map((config) => [config.kind, config] as const))('%s on wasm', (_kind, config) => {
  it('matches the cpu backend', async () => {
    const onCpu = await trainOn('cpu', config);
    const onWasm = await trainOn('wasm', config);
    for (const name of Object.keys(onCpu)) {
      onWasm[name].forEach((value, i) => expect(value).toBeCloseTo(onCpu[name][i], 5));
    }
  });
});
