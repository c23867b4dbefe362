/**
 * Forward-only measurements on fixed sequence sets: validation loss, probe
 * log-probabilities and residual-stream activations, and KL(p*‖p_θ).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../optim/optimizer';
import type { Architecture } from '../model/params';
import { crossEntropy, forward } from '../model/transformer';
import type { TokenBatch } from '../tasks/task';

/** Mean cross-entropy over the positions of `set` that carry loss, evaluated `chunkSize` sequences at a time. */
export function meanLoss(params: ParamMap, arch: Architecture, set: TokenBatch, chunkSize: number): number {
  let total = 0;
  let counted = 0;
  forEachChunk(set, chunkSize, (inputs, targets) => {
    const loss = tf.tidy(() => crossEntropy(forward(params, arch, inputs), tf.reshape(targets, [-1]) as tf.Tensor1D, 'sum'));
    total += loss.dataSync()[0];
    loss.dispose();
    for (const target of targets.dataSync()) if (target >= 0) counted += 1;
  });
  return total / Math.max(counted, 1);
}

export interface ProbeOutputs {
  /** log p_θ(next token), [probeSize, seq, vocab]. */
  logProbs: Float32Array;
  /** Residual stream after the embeddings and after each block, each [probeSize · seq, dModel]. */
  residuals: Float32Array[];
}

export function probeOutputs(params: ParamMap, arch: Architecture, probe: TokenBatch, chunkSize: number): ProbeOutputs {
  const rowsPerSequence = probe.seq;
  const logProbs = new Float32Array(probe.size * probe.seq * arch.vocabSize);
  const residuals = Array.from({ length: arch.nLayers + 1 }, () => new Float32Array(probe.size * rowsPerSequence * arch.dModel));

  let firstSequence = 0;
  forEachChunk(probe, chunkSize, (inputs) => {
    const kept: tf.Tensor2D[] = [];
    const chunkLogProbs = tf.tidy(() => tf.logSoftmax(forward(params, arch, inputs, { residuals: kept })));
    logProbs.set(chunkLogProbs.dataSync(), firstSequence * probe.seq * arch.vocabSize);
    chunkLogProbs.dispose();

    kept.forEach((residual, layer) => {
      residuals[layer].set(residual.dataSync(), firstSequence * rowsPerSequence * arch.dModel);
      residual.dispose();
    });
    firstSequence += inputs.shape[0];
  });
  return { logProbs, residuals };
}

/**
 * Mean over probe positions with a target of KL(p*‖p_θ) = Σ_v p*_v (log p*_v − log p_θ,v),
 * in nats, accumulated in float64. Terms with p*_v = 0 contribute 0.
 */
export function trueKl(trueLogProbs: Float32Array, modelLogProbs: Float32Array, probe: TokenBatch, vocab: number): number {
  let total = 0;
  let counted = 0;
  for (let position = 0; position < probe.size * probe.seq; position += 1) {
    if (probe.targets[position] < 0) continue;
    const base = position * vocab;
    let kl = 0;
    for (let v = 0; v < vocab; v += 1) {
      const logP = trueLogProbs[base + v];
      if (logP === -Infinity) continue;
      kl += Math.exp(logP) * (logP - modelLogProbs[base + v]);
    }
    total += kl;
    counted += 1;
  }
  return total / Math.max(counted, 1);
}

/** Calls `visit` with int32 tensors [chunk, seq] of inputs and targets, disposing them afterwards. */
function forEachChunk(set: TokenBatch, chunkSize: number, visit: (inputs: tf.Tensor2D, targets: tf.Tensor2D) => void): void {
  for (let first = 0; first < set.size; first += chunkSize) {
    const count = Math.min(chunkSize, set.size - first);
    const range = [first * set.seq, (first + count) * set.seq] as const;
    const inputs = tf.tensor2d(set.inputs.subarray(...range), [count, set.seq], 'int32');
    const targets = tf.tensor2d(set.targets.subarray(...range), [count, set.seq], 'int32');
    try {
      visit(inputs, targets);
    } finally {
      inputs.dispose();
      targets.dispose();
    }
  }
}
