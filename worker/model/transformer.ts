/**
 * A GPT-style decoder-only transformer: token and learned position
 * embeddings, pre-LayerNorm blocks of causal multi-head self-attention and a
 * GELU MLP, a final layer norm and an output projection (the token embedding,
 * transposed, when tied). The forward pass is a pure function of the
 * parameters and the inputs, so per-seed state lives only in the ParamMap and
 * a leading ensemble axis can be added without shared state to untangle.
 *
 * Activations are kept two-dimensional, [batch · seq, dModel], except inside
 * attention, where heads need [batch, heads, seq, dHead].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../optim/optimizer';
import { affine, batchMatMul, batchMatMulTransposeB, embeddingLookup, gelu, layerNorm, matMulPlain, oneHotFloat } from './ops';
import type { Architecture } from './params';

/** Score added at masked attention positions. Its exp underflows to exactly 0 in float32. */
const MASKED_SCORE = -1e9;

export interface ForwardOptions {
  /**
   * Tensors added to the outputs of the named linear maps (by weight name),
   * each [batch · seq, dOut]. With zero taps the function is unchanged, and
   * the gradient of the loss with respect to a tap is the gradient with
   * respect to that map's output.
   */
  taps?: Map<string, tf.Tensor2D>;
  /** When given, receives the input [batch · seq, dIn] of every linear map, kept out of the enclosing tidy, one tensor per map. */
  linearInputs?: Map<string, tf.Tensor2D>;
  /** When given, receives the residual stream [batch · seq, dModel] after the embeddings and after each block, kept. */
  residuals?: tf.Tensor2D[];
}

/**
 * Computes next-token logits [batch · seq, vocab] for `inputs` [batch, seq]
 * (int32, seq ≤ contextLength). Call inside tf.tidy or a gradient function;
 * only tensors handed out through `options` are kept.
 */
export function forward(params: ParamMap, arch: Architecture, inputs: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor2D {
  const [batch, seq] = inputs.shape;
  if (seq > arch.contextLength) {
    throw new RangeError(`sequence of ${seq} tokens exceeds the model's context length ${arch.contextLength}`);
  }

  let x = embed(params, arch, inputs);
  recordResidual(options, x);

  const mask = causalMask(seq);
  for (let i = 0; i < arch.nLayers; i += 1) {
    x = tf.add(x, attention(params, arch, `blocks.${i}`, layerNorm(x, param1(params, `blocks.${i}.ln1.gain`), param1(params, `blocks.${i}.ln1.bias`)), batch, seq, mask, options));
    x = tf.add(x, mlp(params, `blocks.${i}`, layerNorm(x, param1(params, `blocks.${i}.ln2.gain`), param1(params, `blocks.${i}.ln2.bias`)), options));
    recordResidual(options, x);
  }

  const h = layerNorm(x, param1(params, 'lnFinal.gain'), param1(params, 'lnFinal.bias'));
  if (arch.tiedEmbeddings) {
    // logits = h Eᵀ: [batch · seq, dModel] × [dModel, vocab].
    return matMulPlain(h, tf.transpose(param2(params, 'tokenEmbedding')));
  }
  return linear(params, options, h, 'unembedding');
}

/** Token plus position embeddings: [batch, seq] ids → [batch · seq, dModel]. */
function embed(params: ParamMap, arch: Architecture, inputs: tf.Tensor2D): tf.Tensor2D {
  const [batch, seq] = inputs.shape;
  const tokens = embeddingLookup(param2(params, 'tokenEmbedding'), tf.reshape(inputs, [batch * seq]) as tf.Tensor1D);

  let positions = param2(params, 'positionEmbedding');
  if (seq < arch.contextLength) positions = tf.slice(positions, [0, 0], [seq, arch.dModel]);

  // [batch, seq, dModel] + [seq, dModel] broadcasts over the batch.
  const summed = tf.add(tf.reshape(tokens, [batch, seq, arch.dModel]), positions);
  return tf.reshape(summed, [batch * seq, arch.dModel]);
}

/** Causal multi-head self-attention on x [batch · seq, dModel]; returns [batch · seq, dModel]. */
function attention(params: ParamMap, arch: Architecture, block: string, x: tf.Tensor2D, batch: number, seq: number, mask: tf.Tensor2D, options: ForwardOptions): tf.Tensor2D {
  const heads = arch.nHeads;
  const dHead = arch.dModel / heads;

  // [batch · seq, dModel] → [batch, seq, heads, dHead] → [batch, heads, seq, dHead].
  const split = (y: tf.Tensor2D) => tf.reshape(y, [batch, seq, heads, dHead]);
  const q = tf.transpose(split(linear(params, options, x, `${block}.attn.wq`, `${block}.attn.bq`)), [0, 2, 1, 3]) as tf.Tensor4D;
  const k = tf.transpose(split(linear(params, options, x, `${block}.attn.wk`, `${block}.attn.bk`)), [0, 2, 1, 3]) as tf.Tensor4D;
  const v = tf.transpose(split(linear(params, options, x, `${block}.attn.wv`, `${block}.attn.bv`)), [0, 2, 1, 3]) as tf.Tensor4D;

  // Scores [batch, heads, seq, seq] = q kᵀ / √dHead, future positions masked.
  const scores = tf.add(batchMatMulTransposeB(tf.mul(q, 1 / Math.sqrt(dHead)) as tf.Tensor4D, k), mask);
  const weights = tf.softmax(scores) as tf.Tensor4D;

  // [batch, heads, seq, dHead] → [batch, seq, heads, dHead] → [batch · seq, dModel].
  const mixed = tf.transpose(batchMatMul(weights, v), [0, 2, 1, 3]);
  return linear(params, options, tf.reshape(mixed, [batch * seq, arch.dModel]), `${block}.attn.wo`, `${block}.attn.bo`);
}

/** GELU MLP on x [batch · seq, dModel] through [batch · seq, dMlp]; returns [batch · seq, dModel]. */
function mlp(params: ParamMap, block: string, x: tf.Tensor2D, options: ForwardOptions): tf.Tensor2D {
  const hidden = gelu(linear(params, options, x, `${block}.mlp.wUp`, `${block}.mlp.bUp`)) as tf.Tensor2D;
  return linear(params, options, hidden, `${block}.mlp.wDown`, `${block}.mlp.bDown`);
}

/** y = x W + b (+ tap) for x [rows, dIn]; returns [rows, dOut]. */
function linear(params: ParamMap, options: ForwardOptions, x: tf.Tensor2D, weight: string, bias?: string): tf.Tensor2D {
  // q, k and v share one input. A clone per map (same data, own handle) lets callers dispose each capture.
  options.linearInputs?.set(weight, tf.keep(tf.clone(x)));

  let y = bias === undefined ? matMulPlain(x, param2(params, weight)) : affine(x, param2(params, weight), param1(params, bias));

  const tap = options.taps?.get(weight);
  if (tap !== undefined) y = tf.add(y, tap);
  return y;
}

/** [seq, seq]: 0 where key position ≤ query position, MASKED_SCORE above the diagonal. */
function causalMask(seq: number): tf.Tensor2D {
  const values = new Float32Array(seq * seq);
  for (let query = 0; query < seq; query += 1) {
    for (let key = query + 1; key < seq; key += 1) values[query * seq + key] = MASKED_SCORE;
  }
  return tf.tensor2d(values, [seq, seq]);
}

function recordResidual(options: ForwardOptions, x: tf.Tensor2D): void {
  options.residuals?.push(tf.keep(x));
}

function param1(params: ParamMap, name: string): tf.Tensor1D {
  return requireParam(params, name) as unknown as tf.Tensor1D;
}

function param2(params: ParamMap, name: string): tf.Tensor2D {
  return requireParam(params, name) as unknown as tf.Tensor2D;
}

function requireParam(params: ParamMap, name: string): tf.Variable {
  const variable = params.get(name);
  if (variable === undefined) throw new Error(`model parameter "${name}" is missing from the parameter map`);
  return variable;
}

/**
 * Mean cross-entropy of `logits` [rows, vocab] against `targets` [rows]
 * (int32, -1 where no loss is taken), over the positions that carry loss.
 * Returns a scalar; `reduction: 'sum'` returns the sum instead of the mean.
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, reduction: 'mean' | 'sum' = 'mean'): tf.Scalar {
  const vocabSize = logits.shape[1];
  // oneHot gives an all-zero row for the target -1, so those positions add nothing.
  const labels = oneHotFloat(targets, vocabSize);
  const total = tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits))));
  if (reduction === 'sum') return total as tf.Scalar;

  const counted = tf.sum(labels);
  return tf.div(total, tf.maximum(counted, 1)) as tf.Scalar;
}
