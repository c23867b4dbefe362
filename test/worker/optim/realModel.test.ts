/**
 * Each optimizer on the real transformer and StepContext: a tiny model,
 * a learnable next-token rule, a few steps on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { optimizerSchema, type OptimizerConfig } from '../../../core/spec';
import { linearSpecs, initParameters, disposeParameters, type Architecture } from '../../../worker/model/params';
import { crossEntropy, forward } from '../../../worker/model/transformer';
import { createOptimizer } from '../../../worker/optim';
import { linearMapsOf } from '../../../worker/optim/kfac';
import type { GradMap, ParamMap } from '../../../worker/optim/optimizer';
import { Rng } from '../../../worker/rng';
import { createStepContext } from '../../../worker/train/context';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const arch = (tiedEmbeddings: boolean): Architecture => ({
  vocabSize: 8,
  contextLength: 6,
  dModel: 8,
  nHeads: 2,
  nLayers: 1,
  dMlp: 16,
  tiedEmbeddings,
  initStd: 0.2,
});

/** Sequences of consecutive tokens mod V, so the next token is the current one plus 1. */
function batch(): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const starts = [0, 3, 5, 6];
  const inputs = starts.map((start) => Array.from({ length: 6 }, (_, i) => (start + i) % 8));
  const targets = inputs.map((row) => row.map((token) => (token + 1) % 8));
  return { inputs: tf.tensor2d(inputs, undefined, 'int32'), targets: tf.tensor2d(targets, undefined, 'int32') };
}

function lossAndGradients(params: ParamMap, model: Architecture, inputs: tf.Tensor2D, targets: tf.Tensor2D): { loss: number; grads: GradMap } {
  const names = [...params.keys()];
  const flat = tf.reshape(targets, [-1]) as tf.Tensor1D;
  const { value, grads } = tf.valueAndGrads(() => crossEntropy(forward(params, model, inputs), flat))([...params.values()]);
  const loss = value.dataSync()[0];
  tf.dispose([value, flat]);
  return { loss, grads: new Map(names.map((name, i) => [name, grads[i]])) };
}

const cases: Array<[string, OptimizerConfig, boolean]> = [
  ['sgd', optimizerSchema.parse({ kind: 'sgd', lr: 0.3 }), false],
  ['adam', optimizerSchema.parse({ kind: 'adam', lr: 0.02 }), false],
  ['adamw', optimizerSchema.parse({ kind: 'adamw', lr: 0.02 }), false],
  ['kfac', optimizerSchema.parse({ kind: 'kfac', lr: 0.2, inverseEvery: 3 }), false],
  ['kfac tied', optimizerSchema.parse({ kind: 'kfac', lr: 0.2, inverseEvery: 3, fisher: 'empirical', fallback: 'diagonal' }), true],
  ['shampoo', optimizerSchema.parse({ kind: 'shampoo', lr: 0.02, preconditionEvery: 3 }), false],
  ['trust-region', optimizerSchema.parse({ kind: 'trust-region', maxKl: 0.05, cgIterations: 4 }), false],
  ['trust-region kfac', optimizerSchema.parse({ kind: 'trust-region', maxKl: 0.05, direction: 'kfac' }), false],
];

describe('optimizers on the transformer', () => {
  it('find the same linear maps as the model', () => {
    for (const tied of [false, true]) {
      const model = arch(tied);
      const params = initParameters(model, 1);
      const expected = linearSpecs(model).map(({ weight, bias }) => (bias === undefined ? { weight } : { weight, bias }));
      expect(linearMapsOf(params)).toEqual(expected);
      disposeParameters(params);
    }
  });

  it.each(cases)('%s lowers the loss without leaks', (_label, config, tied) => {
    const model = arch(tied);
    const params = initParameters(model, 3);
    const optimizer = createOptimizer(config, params);
    const { inputs, targets } = batch();
    const labelRng = Rng.fromSeed(3, 'labels');

    let firstLoss = Number.NaN;
    let tensors = -1;
    for (let step = 1; step <= 8; step += 1) {
      const { loss, grads } = lossAndGradients(params, model, inputs, targets);
      if (step === 1) firstLoss = loss;
      const lr = config.kind === 'trust-region' ? 1 : config.lr;
      const context = createStepContext({ arch: model, params, step, lr, batch: { inputs, targets }, labelRng });
      const diagnostics = optimizer.step(params, grads, context);
      context.dispose();
      tf.dispose([...grads.values()]);

      for (const value of Object.values(diagnostics)) expect(Number.isFinite(value)).toBe(true);
      if (step === 1) tensors = tf.memory().numTensors;
      expect(tf.memory().numTensors).toBe(tensors);
    }

    const { loss: finalLoss, grads } = lossAndGradients(params, model, inputs, targets);
    tf.dispose([...grads.values()]);
    expect(finalLoss).toBeLessThan(firstLoss * 0.9);

    optimizer.dispose();
    tf.dispose([inputs, targets]);
    disposeParameters(params);
  });
});
