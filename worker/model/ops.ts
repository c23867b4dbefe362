/**
 * Differentiable building blocks with hand-written gradients.
 *
 * They compute the same functions as the plain TensorFlow.js ops. Only the
 * backward pass differs, chosen for the wasm backend of tfjs 4.22, where
 *  - A matMul with `transposeA` or `transposeB` runs several times slower
 *    than a plain one, and the built-in matMul gradient uses both. So the
 *    gradients here transpose explicitly (cheap at rank ≤ 4) and then call a
 *    plain matMul.
 *  - The gradient of `gather` (UnsortedSegmentSum) has no kernel, so the
 *    embedding gradient is a one-hot matrix product.
 *  - Every op costs a fixed dispatch overhead, so layer norm and GELU have
 *    closed-form gradients with fewer ops than their autodiff graphs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerModelGradients } from './gradients';

registerModelGradients();

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

const LAYER_NORM_EPSILON = 1e-5;
const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** y = x W for x [rows, dIn] and W [dIn, dOut]; returns [rows, dOut]. */
export const matMulPlain = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor2D, [xSaved, wSaved]: tf.Tensor[]) => [
      // dx = dy Wᵀ [rows, dIn]; dW = xᵀ dy [dIn, dOut].
      tf.matMul(dy, tf.transpose(wSaved)),
      tf.matMul(tf.transpose(xSaved), dy),
    ],
  };
}) as unknown as CustomGradientFunc) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/** y = x W + b for x [rows, dIn], W [dIn, dOut] and b [dOut]; returns [rows, dOut]. */
export const affine = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x, w), b),
    gradFunc: (dy: tf.Tensor2D, [xSaved, wSaved]: tf.Tensor[]) => [
      tf.matMul(dy, tf.transpose(wSaved)),
      tf.matMul(tf.transpose(xSaved), dy),
      sumRows(dy),
    ],
  };
}) as unknown as CustomGradientFunc) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/**
 * Sums the rows of x [rows, d] into [d] as the product 1ᵀ x, which the wasm
 * backend computes several times faster than `tf.sum(x, 0)`.
 */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  const [rows, width] = x.shape;
  return tf.reshape(tf.matMul(tf.ones([1, rows]), x), [width]);
}

/**
 * Batched a b over the two last axes of rank-4 tensors: [n, h, i, j] × [n, h, j, k] → [n, h, i, k].
 * A batched matMul takes the wasm backend's general path, where transpose
 * flags cost nothing extra, so the gradients use the flags instead of
 * explicit transposes.
 */
export const batchMatMul = tf.customGrad(((a: tf.Tensor4D, b: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor4D, [aSaved, bSaved]: tf.Tensor[]) => [tf.matMul(dy, bSaved, false, true), tf.matMul(aSaved, dy, true, false)],
  };
}) as unknown as CustomGradientFunc) as (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D;

/** Batched a bᵀ over the two last axes of rank-4 tensors: [n, h, i, k] × [n, h, j, k] → [n, h, i, j]. */
export const batchMatMulTransposeB = tf.customGrad(((a: tf.Tensor4D, b: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b, false, true),
    gradFunc: (dy: tf.Tensor4D, [aSaved, bSaved]: tf.Tensor[]) => [tf.matMul(dy, bSaved), tf.matMul(dy, aSaved, true, false)],
  };
}) as unknown as CustomGradientFunc) as (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D;

/**
 * Looks up rows of `table` [vocab, d] for `ids` (int32 [n]); returns [n, d].
 * Both directions are products with the one-hot matrix H [n, vocab]: the
 * rows are H table, and the gradient Hᵀ dy sums the output gradients of
 * repeated ids. On wasm the product is faster than `gather`, and the values
 * are the same because each output is one entry times 1 plus exact zeros.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const lookup = tf.customGrad(((tableInput: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const oneHot = oneHotFloat(ids, tableInput.shape[0]);
    save([oneHot]);
    return {
      value: tf.matMul(oneHot, tableInput),
      gradFunc: (dy: tf.Tensor2D, [oneHotSaved]: tf.Tensor[]) => tf.matMul(tf.transpose(oneHotSaved), dy),
    };
  }) as unknown as CustomGradientFunc) as (tableInput: tf.Tensor2D) => tf.Tensor2D;
  return lookup(table);
}

/**
 * Normalises x [rows, d] over its last axis: (x − mean) / √(var + 1e-5) · gain + bias,
 * with the biased variance. Gradient with x̂ the normalised input and r = 1/√(var + ε):
 * dx = r · (g − mean(g) − x̂ · mean(g x̂)) where g = dy · gain; dgain = Σ dy x̂; dbias = Σ dy.
 */
export const layerNorm = tf.customGrad(((x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, save: tf.GradSaveFunc) => {
  const { mean, variance } = tf.moments(x, -1, true);
  const inverseStd = tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON));
  const normalised = tf.mul(tf.sub(x, mean), inverseStd);
  save([normalised, inverseStd, gain]);
  return {
    value: tf.add(tf.mul(normalised, gain), bias),
    gradFunc: (dy: tf.Tensor2D, [normalisedSaved, inverseStdSaved, gainSaved]: tf.Tensor[]) => {
      const g = tf.mul(dy, gainSaved);
      const centred = tf.sub(g, tf.mean(g, -1, true));
      const projection = tf.mul(normalisedSaved, tf.mean(tf.mul(g, normalisedSaved), -1, true));
      const dx = tf.mul(tf.sub(centred, projection), inverseStdSaved);
      return [dx, sumRows(tf.mul(dy, normalisedSaved)), sumRows(dy)];
    },
  };
}) as unknown as CustomGradientFunc) as (x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D) => tf.Tensor2D;

/**
 * GELU, tanh approximation: ½ x (1 + tanh(u)) with u = √(2/π) (x + 0.044715 x³),
 * computed as y = x σ(2u), which is the same function: ½ (1 + tanh(u)) = σ(2u).
 * The wasm backend runs sigmoid several times faster than tanh.
 * Gradient: s + x s (1 − s) · 2u′ with s = σ(2u) and 2u′ = 2√(2/π) (1 + 3 · 0.044715 x²).
 * Because x s = y, the middle factor is y − y s, which saves one op on the widest tensor.
 */
export const gelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const xSquared = tf.square(x);
  const twiceInner = tf.mul(x, tf.add(tf.mul(xSquared, 2 * GELU_SCALE * GELU_CUBIC), 2 * GELU_SCALE));
  const s = tf.sigmoid(twiceInner);
  const y = tf.mul(x, s);
  save([xSquared, s, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [xSquaredSaved, sSaved, ySaved]: tf.Tensor[]) => {
      const twiceInnerSlope = tf.add(tf.mul(xSquaredSaved, 6 * GELU_SCALE * GELU_CUBIC), 2 * GELU_SCALE);
      const slope = tf.add(sSaved, tf.mul(tf.sub(ySaved, tf.mul(ySaved, sSaved)), twiceInnerSlope));
      return tf.mul(dy, slope);
    },
  };
}) as unknown as CustomGradientFunc) as (x: tf.Tensor) => tf.Tensor;

/**
 * Returns one-hot rows [n, depth] as float32. An id outside [0, depth), such
 * as -1, gives a row of zeros. The wasm backend of tfjs 4.22 ignores oneHot's dtype
 * argument and writes int32 bits into a float32 tensor, so the int32 result
 * is cast instead.
 */
export function oneHotFloat(ids: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(ids, depth), 'float32') as tf.Tensor2D;
}
