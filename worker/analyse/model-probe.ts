/**
 * The model-dependent analysis quantities, evaluated with the real
 * transformer on the task's probe set: probe loss along a straight line
 * between two runs, the diagonal Fisher, and residual-stream activations.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterMap } from '../../core/analysis/parameters';
import type { ModelProbe } from '../../core/analysis/step';
import type { ParamMap } from '../optim/optimizer';
import type { Architecture } from '../model/params';
import { crossEntropy, forward } from '../model/transformer';
import { Rng } from '../rng';
import { meanLoss } from '../train/evaluate';
import type { TokenBatch } from '../tasks';

/** Token positions per forward pass, which bounds the largest activation of one pass to [4096, max(dMlp, vocab)] floats. */
const POSITIONS_PER_PASS = 4096;

export interface ProbeOptions {
  /** Number of groups the probe set is split into for the Fisher estimate, at most the probe size. */
  fisherGroups: number;
  fisherSeed: number;
}

/**
 * Implements `ModelProbe` with TensorFlow.js on the current backend. The
 * Fisher is the diagonal of the true Fisher, with labels sampled from the
 * model at every measured probe position, per position on average.
 */
export class TransformerProbe implements ModelProbe {
  constructor(
    readonly arch: Architecture,
    readonly probe: TokenBatch,
    readonly options: ProbeOptions,
  ) {}

  private get sequencesPerPass(): number {
    return Math.max(1, Math.floor(POSITIONS_PER_PASS / this.probe.seq));
  }

  lossAlongPath(a: ParameterMap, b: ParameterMap, alphas: number[]): number[] {
    return withVariables(a, (variables) =>
      alphas.map((alpha) => {
        for (const [name, variable] of variables) {
          const start = a.get(name)!.data;
          const end = b.get(name)!.data;
          const mixed = new Float32Array(start.length);
          for (let i = 0; i < start.length; i += 1) mixed[i] = (1 - alpha) * start[i]! + alpha * end[i]!;
          tf.tidy(() => variable.assign(tf.tensor(mixed, variable.shape, 'float32')));
        }
        return this.meanProbeLoss(variables);
      }),
    );
  }

  /**
   * Estimates diag F = E_x E_{y∼p_θ}[(∇ log p_θ(y | x))²] per probe position.
   * Labels at different positions are drawn independently and each score has
   * mean zero, so the cross terms of a summed gradient vanish in expectation.
   * The squared gradient of a group's summed log-likelihood is therefore
   * unbiased for the sum of the group's per-position Fisher diagonals. More
   * groups lower the variance at one backward pass each.
   */
  diagonalFisher(parameters: ParameterMap): ParameterMap {
    return withVariables(parameters, (variables) => {
      const sums = new Map([...parameters].map(([name, tensor]) => [name, new Float64Array(tensor.data.length)]));
      const rng = Rng.fromSeed(this.options.fisherSeed, 'analysis.fisher');
      const groups = Math.max(1, Math.min(this.options.fisherGroups, this.probe.size));
      let counted = 0;

      for (let group = 0; group < groups; group += 1) {
        const first = Math.floor((group * this.probe.size) / groups);
        const last = Math.floor(((group + 1) * this.probe.size) / groups);
        const batch = sliceBatch(this.probe, first, last);
        const labels = this.sampleLabels(variables, batch, rng);
        counted += labels.reduce((sum, label) => sum + (label >= 0 ? 1 : 0), 0);

        // The inputs live outside the gradient scope because the embedding's
        // gradient reads the token ids after the forward scope has ended.
        const inputs = tf.tensor2d(batch.inputs, [batch.size, batch.seq], 'int32');
        const targets = tf.tensor1d(labels, 'int32');
        const { value, grads } = tf.variableGrads(() => crossEntropy(forward(variables, this.arch, inputs), targets, 'sum'), [...variables.values()]);
        value.dispose();
        inputs.dispose();
        targets.dispose();
        for (const [name, variable] of variables) {
          const gradient = grads[variable.name]!;
          const values = gradient.dataSync();
          const sum = sums.get(name)!;
          for (let i = 0; i < values.length; i += 1) sum[i] += values[i]! * values[i]!;
          gradient.dispose();
        }
      }

      const fisher: ParameterMap = new Map();
      for (const [name, sum] of sums) {
        fisher.set(name, { shape: [...parameters.get(name)!.shape], data: sum.map((value) => (counted > 0 ? value / counted : Number.NaN)) });
      }
      return fisher;
    });
  }

  residuals(parameters: ParameterMap): Float32Array[] {
    return withVariables(parameters, (variables) => {
      const layers: Float32Array[][] = Array.from({ length: this.arch.nLayers + 1 }, () => []);
      for (let first = 0; first < this.probe.size; first += this.sequencesPerPass) {
        const batch = sliceBatch(this.probe, first, Math.min(this.probe.size, first + this.sequencesPerPass));
        const residuals: tf.Tensor2D[] = [];
        tf.tidy(() => {
          forward(variables, this.arch, tf.tensor2d(batch.inputs, [batch.size, batch.seq], 'int32'), { residuals });
        });
        residuals.forEach((tensor, layer) => {
          layers[layer]!.push(tensor.dataSync() as Float32Array);
          tensor.dispose();
        });
      }
      return layers.map(concatenate);
    });
  }

  /** Mean cross-entropy of the probe targets over the positions that carry one, or NaN when none does. */
  private meanProbeLoss(variables: ParamMap): number {
    // meanLoss returns 0 for a set without targets, so that case is handled here.
    if (!this.probe.targets.some((target) => target >= 0)) return Number.NaN;
    return meanLoss(variables, this.arch, this.probe, this.sequencesPerPass);
  }

  /** Draws y ∼ p_θ(· | x) at each position that carries a target; -1 elsewhere. */
  private sampleLabels(variables: ParamMap, batch: TokenBatch, rng: Rng): Int32Array {
    const probabilities = tf.tidy(() => {
      const logits = forward(variables, this.arch, tf.tensor2d(batch.inputs, [batch.size, batch.seq], 'int32'));
      return tf.softmax(logits).dataSync() as Float32Array;
    });
    const vocab = this.arch.vocabSize;
    const labels = new Int32Array(batch.targets.length);
    for (let position = 0; position < labels.length; position += 1) {
      labels[position] = batch.targets[position]! < 0 ? -1 : rng.categorical(probabilities, position * vocab, vocab);
    }
    return labels;
  }
}

/** Runs `body` with the parameters loaded into fresh trainable variables, disposed afterwards. */
function withVariables<T>(parameters: ParameterMap, body: (variables: ParamMap) => T): T {
  const variables: ParamMap = new Map();
  try {
    for (const [name, tensor] of parameters) {
      // The tidy disposes the initial tensor; the variable it returns is kept.
      variables.set(name, tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(tensor.data), tensor.shape, 'float32'), true)));
    }
    return body(variables);
  } finally {
    for (const variable of variables.values()) variable.dispose();
  }
}

function sliceBatch(batch: TokenBatch, first: number, last: number): TokenBatch {
  const begin = first * batch.seq;
  const end = last * batch.seq;
  return { size: last - first, seq: batch.seq, inputs: batch.inputs.slice(begin, end), targets: batch.targets.slice(begin, end) };
}

function concatenate(parts: Float32Array[]): Float32Array {
  const result = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}
