import * as tf from '@tensorflow/tfjs-core';
import type { GradMap } from './optimizer';

export interface ClippedGradients {
  /** Clipped gradients as new tensors owned by the caller. The input gradients are left untouched. */
  grads: GradMap;
  /** Global L2 norm of the input gradients, before clipping. */
  norm: number;
}

/** Returns the global L2 norm over all gradients, summed in float32 on the backend. */
export function globalNorm(grads: GradMap): number {
  if (grads.size === 0) return 0;
  const squared = tf.tidy(() => tf.addN([...grads.values()].map((grad) => tf.sum(tf.square(grad)))));
  const value = squared.dataSync()[0];
  squared.dispose();
  return Math.sqrt(value);
}

/**
 * Scales all gradients by `min(1, maxNorm / norm)`, where `norm` is their
 * global L2 norm. A non-finite norm leaves the gradients unscaled, so the
 * NaN or infinity reaches the parameters and the loss, where the training loop
 * detects divergence.
 */
export function clipByGlobalNorm(grads: GradMap, maxNorm: number): ClippedGradients {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new RangeError(`maximum gradient norm must be a positive finite number; received ${maxNorm}`);
  }

  const norm = globalNorm(grads);
  const scale = Number.isFinite(norm) && norm > maxNorm ? maxNorm / norm : 1;
  const clipped: GradMap = new Map();
  for (const [name, grad] of grads) {
    clipped.set(name, scale === 1 ? tf.clone(grad) : tf.tidy(() => tf.mul(grad, scale)));
  }
  return { grads: clipped, norm };
}
