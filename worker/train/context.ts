/**
 * The StepContext the training loop hands to the optimizer: model logits for
 * any parameter setting, the inputs and output gradients of every linear map,
 * and loss and KL measurements on the step's batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, LinearCapture, ParamMap, StepContext } from '../optim/optimizer';
import { linearSpecs, type Architecture } from '../model/params';
import { crossEntropy, forward } from '../model/transformer';
import type { Rng } from '../rng';

export interface StepContextOptions {
  arch: Architecture;
  params: ParamMap;
  step: number;
  lr: number;
  batch: Batch;
  /** Stream from which `captureLinears('sampled')` draws labels. It advances with every draw. */
  labelRng: Rng;
}

/** StepContext that owns cached tensors. The training loop calls `dispose` after the optimizer's step. */
export interface OwnedStepContext extends StepContext {
  dispose(): void;
}

export function createStepContext(options: StepContextOptions): OwnedStepContext {
  const { arch, params, batch } = options;
  const [batchSize, seq] = batch.inputs.shape;
  const rows = batchSize * seq;
  const targets = tf.reshape(batch.targets, [rows]) as tf.Tensor1D;
  const validRows = countValid(targets);

  // log p_current [rows, vocab], computed on the first KL request and reused
  // while the parameters stay those of this step.
  let currentLogProbs: tf.Tensor2D | undefined;
  const logProbsAt = (candidate: ParamMap) => tf.logSoftmax(forward(candidate, arch, batch.inputs)) as tf.Tensor2D;

  return {
    step: options.step,
    lr: options.lr,
    batch,

    logits(candidate?: ParamMap): tf.Tensor3D {
      return tf.tidy(() => tf.reshape(forward(candidate ?? params, arch, batch.inputs), [batchSize, seq, arch.vocabSize]) as tf.Tensor3D);
    },

    captureLinears(labels: 'data' | 'sampled'): LinearCapture[] {
      const labelTensor = labels === 'data' ? targets : sampleLabels(options, targets);
      try {
        return captureLinearMaps(arch, params, batch.inputs, labelTensor);
      } finally {
        if (labelTensor !== targets) labelTensor.dispose();
      }
    },

    klTo(candidate: ParamMap): number {
      if (currentLogProbs === undefined) currentLogProbs = tf.tidy(() => logProbsAt(params));
      const current = currentLogProbs;
      const perRow = tf.tidy(() => {
        // KL(p‖q) per position = Σ_v p_v (log p_v − log q_v).
        const difference = tf.sub(current, logProbsAt(candidate));
        return tf.sum(tf.mul(tf.exp(current), difference), -1);
      });
      const values = perRow.dataSync();
      perRow.dispose();
      return meanOverValid(values, targets, validRows);
    },

    lossAt(candidate: ParamMap): number {
      const loss = tf.tidy(() => crossEntropy(forward(candidate, arch, batch.inputs), targets));
      const value = loss.dataSync()[0];
      loss.dispose();
      return value;
    },

    dispose(): void {
      currentLogProbs?.dispose();
      targets.dispose();
    },
  };
}

/**
 * Runs forward and backward once and returns, for every linear map, its input
 * and the gradient of the summed cross-entropy (over positions that carry
 * loss) with respect to its output.
 *
 * Method: each linear map adds a zero "tap" tensor of its output's shape to
 * its output. Adding zero leaves the function unchanged, and because
 * y' = y + tap, the gradient with respect to the tap equals the gradient with
 * respect to the output y. So one `tf.grads` call over the taps yields every
 * output gradient, while the forward pass keeps each map's input.
 */
function captureLinearMaps(arch: Architecture, params: ParamMap, inputs: tf.Tensor2D, labels: tf.Tensor1D): LinearCapture[] {
  const linears = linearSpecs(arch);
  const rows = inputs.shape[0] * inputs.shape[1];
  const taps = linears.map((linear) => tf.zeros([rows, linear.dOut]) as tf.Tensor2D);
  const linearInputs = new Map<string, tf.Tensor2D>();

  let outputGrads: tf.Tensor[];
  try {
    outputGrads = tf.grads((...tapArgs: tf.Tensor[]) => {
      const tapMap = new Map(linears.map((linear, i) => [linear.weight, tapArgs[i] as tf.Tensor2D]));
      return crossEntropy(forward(params, arch, inputs, { taps: tapMap, linearInputs }), labels, 'sum');
    })(taps);
  } finally {
    for (const tap of taps) tap.dispose();
  }

  return linears.map((linear, i) => {
    const capture: LinearCapture = {
      weight: linear.weight,
      inputs: linearInputs.get(linear.weight) as tf.Tensor2D,
      outputGrads: outputGrads[i] as tf.Tensor2D,
    };
    if (linear.bias !== undefined) capture.bias = linear.bias;
    return capture;
  });
}

/**
 * Draws one label per position from the model's own predictive distribution
 * (for the true Fisher), in JavaScript from the run's label stream so every
 * backend draws the same labels. Positions without a data target stay -1.
 */
function sampleLabels(options: StepContextOptions, targets: tf.Tensor1D): tf.Tensor1D {
  const { arch, params, batch, labelRng } = options;
  const probabilities = tf.tidy(() => tf.softmax(forward(params, arch, batch.inputs)));
  const values = probabilities.dataSync();
  probabilities.dispose();

  const dataTargets = targets.dataSync();
  const vocab = arch.vocabSize;
  const sampled = new Int32Array(dataTargets.length);
  for (let row = 0; row < dataTargets.length; row += 1) {
    sampled[row] = dataTargets[row] < 0 ? -1 : labelRng.categorical(values, row * vocab, vocab);
  }
  return tf.tensor1d(sampled, 'int32');
}

function countValid(targets: tf.Tensor1D): number {
  let count = 0;
  for (const target of targets.dataSync()) if (target >= 0) count += 1;
  return count;
}

/** Mean of `values` over positions whose target is not -1, accumulated in float64. */
function meanOverValid(values: ArrayLike<number>, targets: tf.Tensor1D, validRows: number): number {
  const targetValues = targets.dataSync();
  let total = 0;
  for (let row = 0; row < values.length; row += 1) if (targetValues[row] >= 0) total += values[row];
  return total / Math.max(validRows, 1);
}
