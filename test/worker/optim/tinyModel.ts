/**
 * A tiny model for testing the curvature optimizers against dense
 * computations, with its own `StepContext`. Token ids are embedded by a
 * one-hot matmul, pass through an optional tanh MLP, and reach the output
 * through `unembedding`:
 *   e = onehot(x) E            [N, d]
 *   u = tanh(e wUp + bUp)      [N, m]   (when dMlp > 0)
 *   r = u wDown + bDown        [N, d]   (when dMlp > 0, else r = e)
 *   logits = r unembedding     [N, V]
 * Parameter names follow the transformer's, so K-FAC finds the linear maps.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, GradMap, LinearCapture, ParamMap, StepContext } from '../../../worker/optim/optimizer';

export interface TinySpec {
  vocab: number;
  dModel: number;
  /** 0 leaves out the MLP, which makes the model softmax regression on the embedding. */
  dMlp: number;
  seed: number;
}

export function buildTinyModel(spec: TinySpec): ParamMap {
  const { vocab, dModel, dMlp, seed } = spec;
  const shapes: Array<[string, number[], number]> = [['tokenEmbedding', [vocab, dModel], 1]];
  if (dMlp > 0) {
    shapes.push(['blocks.0.mlp.wUp', [dModel, dMlp], 0.5], ['blocks.0.mlp.bUp', [dMlp], 0.1]);
    shapes.push(['blocks.0.mlp.wDown', [dMlp, dModel], 0.5], ['blocks.0.mlp.bDown', [dModel], 0.1]);
  }
  shapes.push(['unembedding', [dModel, vocab], 0.5]);

  const params: ParamMap = new Map();
  shapes.forEach(([name, shape, std], i) => {
    params.set(name, tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, std, 'float32', seed * 100 + i), true)));
  });
  return params;
}

/** Builds a batch of `batch` sequences of length `seq` whose targets follow token + 1 mod V, from a seed. */
export function tinyBatch(vocab: number, batch: number, seq: number, seed: number): Batch {
  return tf.tidy(() => {
    const inputs = tf.randomUniform([batch, seq], 0, vocab, 'int32', seed) as tf.Tensor2D;
    const targets = tf.cast(tf.mod(tf.add(inputs, tf.scalar(1, 'int32')), tf.scalar(vocab, 'int32')), 'int32') as tf.Tensor2D;
    return { inputs, targets };
  });
}

interface Forward {
  logits: tf.Tensor2D;
  /** Inputs of each linear map, by weight name. */
  inputs: Map<string, tf.Tensor2D>;
}

/** Runs the model; `taps` are added to each linear map's output when given. */
function forward(params: ParamMap, tokens: tf.Tensor2D, taps?: Map<string, tf.Tensor2D>): Forward {
  const vocab = params.get('unembedding')!.shape[1]!;
  const oneHot = tf.cast(tf.oneHot(tf.reshape(tokens, [-1]) as tf.Tensor1D, vocab), 'float32') as tf.Tensor2D;
  const embedded: tf.Tensor2D = tf.matMul(oneHot, params.get('tokenEmbedding')! as tf.Tensor2D);
  const inputs = new Map<string, tf.Tensor2D>();
  const tapped = (name: string, output: tf.Tensor2D) => (taps?.has(name) ? tf.add(output, taps.get(name)!) : output) as tf.Tensor2D;

  let residual = embedded;
  if (params.has('blocks.0.mlp.wUp')) {
    inputs.set('blocks.0.mlp.wUp', embedded);
    const up = tapped('blocks.0.mlp.wUp', tf.add(tf.matMul(embedded, params.get('blocks.0.mlp.wUp')! as tf.Tensor2D), params.get('blocks.0.mlp.bUp')!) as tf.Tensor2D);
    const hidden = tf.tanh(up) as tf.Tensor2D;
    inputs.set('blocks.0.mlp.wDown', hidden);
    residual = tapped('blocks.0.mlp.wDown', tf.add(tf.matMul(hidden, params.get('blocks.0.mlp.wDown')! as tf.Tensor2D), params.get('blocks.0.mlp.bDown')!) as tf.Tensor2D);
  }
  inputs.set('unembedding', residual);
  const logits = tapped('unembedding', tf.matMul(residual, params.get('unembedding')! as tf.Tensor2D));
  return { logits, inputs };
}

/** Returns the summed cross-entropy of `logits` [N, V] against `labels` [N]. */
function summedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const logProbs = tf.logSoftmax(logits);
  return tf.neg(tf.sum(tf.mul(logProbs, tf.cast(tf.oneHot(labels, logits.shape[1]), 'float32')))) as tf.Scalar;
}

export function disposeBatch(batch: Batch): void {
  batch.inputs.dispose();
  batch.targets.dispose();
}

export function meanLoss(params: ParamMap, batch: Batch): tf.Scalar {
  return tf.tidy(() => {
    const { logits } = forward(params, batch.inputs);
    return tf.div(summedCrossEntropy(logits, tf.reshape(batch.targets, [-1]) as tf.Tensor1D), logits.shape[0]);
  });
}

/** Returns the gradients of the mean loss and its value. */
export function gradients(params: ParamMap, batch: Batch): { grads: GradMap; loss: number } {
  const names = new Map([...params].map(([name, param]) => [param.name, name]));
  const { value, grads } = tf.variableGrads(() => meanLoss(params, batch), [...params.values()]);
  const byName: GradMap = new Map();
  for (const [variableName, grad] of Object.entries(grads)) byName.set(names.get(variableName)!, grad);
  const loss = value.dataSync()[0];
  value.dispose();
  return { grads: byName, loss };
}

/** Returns the log-probabilities [N, V] of the model on a batch. */
export function logProbsOf(params: ParamMap, batch: Batch): tf.Tensor2D {
  return tf.tidy(() => tf.logSoftmax(forward(params, batch.inputs).logits));
}

/**
 * Draws one label per row from softmax(logits) with a seeded generator.
 * `tf.multinomial` is not used because with a seed it restarts its generator
 * for every row, so rows with equal logits would all get the same label.
 */
function sampleLabels(logits: tf.Tensor2D, seed: number): tf.Tensor1D {
  const [rows, vocab] = logits.shape;
  const probabilities = tf.softmax(logits).dataSync();
  let state = seed >>> 0;
  const uniform = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const labels = new Int32Array(rows);
  for (let row = 0; row < rows; row += 1) {
    let remaining = uniform();
    let label = vocab - 1;
    for (let k = 0; k < vocab; k += 1) {
      remaining -= probabilities[row * vocab + k];
      if (remaining < 0) {
        label = k;
        break;
      }
    }
    labels[row] = label;
  }
  return tf.tensor1d(labels, 'int32');
}

/** Builds the step context of the tiny model. Sampled labels are seeded with `seed`, so a step is reproducible. */
export function tinyContext(params: ParamMap, batch: Batch, step: number, lr: number, seed: number): StepContext {
  const [batchSize, seq] = batch.inputs.shape;
  return {
    step,
    lr,
    batch,
    logits(candidate = params) {
      return tf.tidy(() => tf.reshape(forward(candidate, batch.inputs).logits, [batchSize, seq, -1]) as tf.Tensor3D);
    },
    captureLinears(labels) {
      const names: string[] = [];
      const [inputs, outputGrads] = tf.tidy(() => {
        const run = forward(params, batch.inputs);
        names.push(...run.inputs.keys());
        const targets = labels === 'data' ? (tf.reshape(batch.targets, [-1]) as tf.Tensor1D) : sampleLabels(run.logits, seed);
        const rows = run.logits.shape[0];
        const taps = names.map((name) => tf.zeros([rows, params.get(name)!.shape[1]!]));
        const lossOfTaps = (...tapValues: tf.Tensor[]) => {
          const tapMap = new Map(names.map((name, i) => [name, tapValues[i] as tf.Tensor2D]));
          return summedCrossEntropy(forward(params, batch.inputs, tapMap).logits, targets);
        };
        return [names.map((name) => run.inputs.get(name)!), tf.grads(lossOfTaps)(taps)];
      });
      return names.map((weight, i): LinearCapture => {
        const capture: LinearCapture = { weight, inputs: inputs[i] as tf.Tensor2D, outputGrads: outputGrads[i] as tf.Tensor2D };
        const bias = weight.replace(/\.wUp$/, '.bUp').replace(/\.wDown$/, '.bDown');
        if (bias !== weight) capture.bias = bias;
        return capture;
      });
    },
    klTo(candidate) {
      const kl = tf.tidy(() => {
        const current = logProbsOf(params, batch);
        const other = logProbsOf(candidate, batch);
        return tf.mean(tf.sum(tf.mul(tf.exp(current), tf.sub(current, other)), 1));
      });
      const value = kl.dataSync()[0];
      kl.dispose();
      return value;
    },
    lossAt(candidate) {
      const loss = meanLoss(candidate, batch);
      const value = loss.dataSync()[0];
      loss.dispose();
      return value;
    },
  };
}
