/**
 * Fisher–vector products for a model with softmax outputs, through the
 * `StepContext`, and the parameter-vector arithmetic conjugate gradient needs.
 *
 * For the mean per-position log-likelihood, the Fisher equals the
 * Gauss–Newton matrix F = (1/N) Σₙ Jₙᵀ Hₙ Jₙ, where Jₙ = ∂logitsₙ/∂θ and
 * Hₙ = diag(pₙ) − pₙ pₙᵀ is the Hessian of the cross-entropy in the logits.
 * So F v takes three parts:
 * - J v (forward mode) by a central finite difference of the logits,
 *   (logits(θ + h v) − logits(θ − h v)) / 2h, because TensorFlow.js has no
 *   forward-mode differentiation and a finite difference needs only the
 *   model's forward pass. By estimate, the error is O(h²) from the model's
 *   curvature plus float32 round-off of about 1e-7 · |logits| / (h ‖v‖).
 * - u = H (J v) per position, in closed form: p ⊙ Jv − p (pᵀ Jv).
 * - Jᵀ u by one backward pass of Σ logits ⊙ u, with u held constant.
 * Positions whose target is negative (no loss) are left out of the mean, as
 * they are in the loss and the KL.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap, StepContext } from './optimizer';

/** A vector in parameter space: one tensor per parameter name. */
export type ParamVector = Map<string, tf.Tensor>;

/** Size of the finite-difference perturbation h ‖v‖, relative to max(1, ‖θ‖). */
export const FINITE_DIFFERENCE_SCALE = 1e-3;

export function dot(a: ParamVector, b: ParamVector): number {
  const sum = tf.tidy(() => tf.addN([...a].map(([name, tensor]) => tf.sum(tf.mul(tensor, b.get(name)!)))));
  const value = sum.dataSync()[0];
  sum.dispose();
  return value;
}

/** Returns a + scale · b as new tensors. */
export function addScaled(a: ParamVector, b: ParamVector, scale: number): ParamVector {
  const out: ParamVector = new Map();
  for (const [name, tensor] of a) out.set(name, tf.tidy(() => tf.add(tensor, tf.mul(b.get(name)!, scale))));
  return out;
}

export function disposeVector(vector: ParamVector): void {
  for (const tensor of vector.values()) tensor.dispose();
}

/**
 * Returns the parameters θ + scale · v as new non-trainable variables, with
 * the parameters v does not cover shared from `params`. Dispose it with
 * `disposeCandidate`.
 */
export function candidateAt(params: ParamMap, direction: ParamVector, scale: number): ParamMap {
  const candidate: ParamMap = new Map();
  for (const [name, param] of params) {
    const step = direction.get(name);
    if (step === undefined) {
      candidate.set(name, param);
      continue;
    }
    const value = tf.tidy(() => tf.add(param, tf.mul(step, scale)));
    candidate.set(name, tf.variable(value, false));
    value.dispose();
  }
  return candidate;
}

export function disposeCandidate(candidate: ParamMap, params: ParamMap): void {
  for (const [name, variable] of candidate) if (variable !== params.get(name)) variable.dispose();
}

/** Computes Fisher–vector products at the context's current parameters. */
export class FisherVectorProduct {
  /** Softmax probabilities [batch, seq, vocab] at θ. */
  private readonly probabilities: tf.Tensor3D;
  /** 1 for positions with a target, 0 elsewhere, divided by their count: [batch, seq, 1]. */
  private readonly weights: tf.Tensor3D;
  private readonly parameterNorm: number;

  constructor(
    private readonly params: ParamMap,
    private readonly context: StepContext,
  ) {
    this.probabilities = tf.tidy(() => tf.softmax(context.logits(params)));
    this.weights = tf.tidy(() => {
      const valid = tf.cast(tf.greaterEqual(context.batch.targets, 0), 'float32');
      return tf.div(tf.expandDims(valid, 2), tf.maximum(tf.sum(valid), 1)) as tf.Tensor3D;
    });
    const squared = tf.tidy(() => tf.addN([...params.values()].map((param) => tf.sum(tf.square(param)))));
    this.parameterNorm = Math.sqrt(squared.dataSync()[0]);
    squared.dispose();
  }

  /** Returns F v for the parameters that `v` covers. Throws a RangeError when v is zero or contains NaN. */
  apply(v: ParamVector): ParamVector {
    const norm = Math.sqrt(dot(v, v));
    if (!(norm > 0)) throw new RangeError(`Fisher–vector product needs a non-zero finite vector; its norm is ${norm}`);
    const h = (FINITE_DIFFERENCE_SCALE * Math.max(1, this.parameterNorm)) / norm;

    const plus = candidateAt(this.params, v, h);
    const minus = candidateAt(this.params, v, -h);
    let hessianTimesJv: tf.Tensor3D;
    try {
      hessianTimesJv = tf.tidy(() => {
        const jv = tf.div(tf.sub(this.context.logits(plus), this.context.logits(minus)), 2 * h);
        const p = this.probabilities;
        const projected = tf.sub(jv, tf.sum(tf.mul(p, jv), 2, true));
        return tf.mul(tf.mul(p, projected), this.weights) as tf.Tensor3D;
      });
    } finally {
      disposeCandidate(plus, this.params);
      disposeCandidate(minus, this.params);
    }

    try {
      return this.vectorJacobianProduct(v, hessianTimesJv);
    } finally {
      hessianTimesJv.dispose();
    }
  }

  /** Returns Jᵀ u for the parameters `like` covers, by backpropagating Σ logits ⊙ u. */
  private vectorJacobianProduct(like: ParamVector, u: tf.Tensor3D): ParamVector {
    const names = [...like.keys()];
    const variables = names.map((name) => this.params.get(name)!);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(this.context.logits(this.params), u)), variables);
    value.dispose();

    const out: ParamVector = new Map();
    names.forEach((name, i) => {
      const grad = grads[variables[i].name];
      out.set(name, grad ?? tf.zerosLike(variables[i]));
    });
    for (const [variableName, grad] of Object.entries(grads)) {
      if (!variables.some((variable) => variable.name === variableName)) grad.dispose();
    }
    return out;
  }

  dispose(): void {
    this.probabilities.dispose();
    this.weights.dispose();
  }
}
