import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelSchema } from '../../../core/spec';
import type { ParamMap } from '../../../worker/optim/optimizer';
import { disposeParameters, initParameters, linearSpecs, type Architecture } from '../../../worker/model/params';
import { crossEntropy, forward } from '../../../worker/model/transformer';
import { Rng } from '../../../worker/rng';
import { createStepContext, type OwnedStepContext } from '../../../worker/train/context';
import { useBackend } from '../helpers';

const arch: Architecture = { ...modelSchema.parse({ contextLength: 5, dModel: 8, nHeads: 2, nLayers: 1, dMlp: 12, initStd: 0.3 }), vocabSize: 6 };

let params: ParamMap;
let inputs: tf.Tensor2D;
let targets: tf.Tensor2D;
let context: OwnedStepContext;

beforeEach(async () => {
  await useBackend('cpu');
  params = initParameters(arch, 4);
  const rng = Rng.fromSeed(1, 'context');
  inputs = tf.tensor2d(Int32Array.from({ length: 15 }, () => rng.int(6)), [3, 5], 'int32');
  // Two positions carry no loss.
  const targetValues = Int32Array.from({ length: 15 }, () => rng.int(6));
  targetValues[0] = -1;
  targetValues[7] = -1;
  targets = tf.tensor2d(targetValues, [3, 5], 'int32');
  context = createStepContext({ arch, params, step: 1, lr: 0.1, batch: { inputs, targets }, labelRng: Rng.fromSeed(2, 'fisher.labels') });
});

afterEach(() => {
  context.dispose();
  inputs.dispose();
  targets.dispose();
  disposeParameters(params);
});

function perturbed(scale: number): ParamMap {
  return new Map([...params].map(([name, variable]) => [name, tf.variable(tf.add(variable, scale), false)]));
}

describe('createStepContext', () => {
  it('captures factors of the weight gradient', () => {
    const captures = context.captureLinears('data');
    expect(captures.map((capture) => capture.weight)).toEqual(linearSpecs(arch).map((linear) => linear.weight));

    const names = [...params.keys()];
    const flatTargets = tf.reshape(targets, [-1]) as tf.Tensor1D;
    const { grads } = tf.valueAndGrads(() => crossEntropy(forward(params, arch, inputs), flatTargets, 'sum'))([...params.values()]);
    for (const capture of captures) {
      expect(capture.inputs.shape[0]).toBe(15);
      const fromCapture = tf.matMul(tf.transpose(capture.inputs), capture.outputGrads).dataSync();
      const direct = grads[names.indexOf(capture.weight)].dataSync();
      fromCapture.forEach((value, i) => expect(value).toBeCloseTo(direct[i], 4));
      capture.inputs.dispose();
      capture.outputGrads.dispose();
    }
    grads.forEach((grad) => grad.dispose());
    flatTargets.dispose();
  });

  it('leaks no tensors after disposal', () => {
    const before = tf.memory().numTensors;
    for (const labels of ['data', 'sampled'] as const) {
      for (const capture of context.captureLinears(labels)) {
        capture.inputs.dispose();
        capture.outputGrads.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('samples labels reproducibly per stream', () => {
    const gradsWith = (labelRng: Rng) => {
      const own = createStepContext({ arch, params, step: 1, lr: 0.1, batch: { inputs, targets }, labelRng });
      const captures = own.captureLinears('sampled');
      const values = Array.from(captures[0].outputGrads.dataSync());
      captures.forEach((capture) => tf.dispose([capture.inputs, capture.outputGrads]));
      own.dispose();
      return values;
    };
    const first = gradsWith(Rng.fromSeed(5, 'fisher.labels'));
    expect(gradsWith(Rng.fromSeed(5, 'fisher.labels'))).toEqual(first);

    const data = context.captureLinears('data');
    expect(Array.from(data[0].outputGrads.dataSync())).not.toEqual(first);
    data.forEach((capture) => tf.dispose([capture.inputs, capture.outputGrads]));
  });

  it('measures KL to itself and a perturbation', () => {
    expect(context.klTo(params)).toBeCloseTo(0, 6);
    const other = perturbed(0.05);
    expect(context.klTo(other)).toBeGreaterThan(1e-6);
    disposeParameters(other);
  });

  it('returns the mean loss over positions with targets', () => {
    const logits = context.logits();
    expect(logits.shape).toEqual([3, 5, 6]);
    const logProbs = tf.logSoftmax(logits).arraySync() as number[][][];
    const targetValues = targets.arraySync();
    let total = 0;
    let counted = 0;
    targetValues.forEach((row, b) =>
      row.forEach((target, t) => {
        if (target < 0) return;
        total -= logProbs[b][t][target];
        counted += 1;
      }),
    );
    expect(counted).toBe(13);
    expect(context.lossAt(params)).toBeCloseTo(total / counted, 5);
    logits.dispose();
  });
});
