import * as tf from '@tensorflow/tfjs-core';
import type { GradMap, ParamMap, StepContext } from './optimizer';

/**
 * Adds the update `delta(name, param, grad)` to every parameter that has a
 * gradient, in the parameters' order, and returns the L2 norm of the whole
 * update. `delta` runs inside tf.tidy and may update optimizer state with
 * `Variable.assign`.
 */
export function applyUpdates(
  params: ParamMap,
  grads: GradMap,
  delta: (name: string, param: tf.Variable, grad: tf.Tensor) => tf.Tensor,
): number {
  checkGradNames(params, grads);

  const squaredNorm = tf.tidy(() => {
    const squares: tf.Tensor[] = [];
    for (const [name, param] of params) {
      const grad = grads.get(name);
      if (grad === undefined) continue;
      const update = delta(name, param, grad);
      param.assign(tf.add(param, update));
      squares.push(tf.sum(tf.square(update)));
    }
    return squares.length === 0 ? tf.scalar(0) : tf.addN(squares);
  });
  const value = squaredNorm.dataSync()[0];
  squaredNorm.dispose();
  return Math.sqrt(value);
}

/** Rejects gradients whose names match no parameter, which signals a naming mismatch. */
export function checkGradNames(params: ParamMap, grads: GradMap): void {
  for (const name of grads.keys()) {
    if (!params.has(name)) {
      throw new Error(`gradient "${name}" matches no parameter; parameters are ${[...params.keys()].join(', ')}`);
    }
  }
}

export interface MeasuredUpdate {
  /** L2 norm of the whole parameter change. */
  updateNorm: number;
  /** Measured KL(p_before ‖ p_after) on the step's batch, mean per position, in nats. */
  stepKl: number;
}

/**
 * Like `applyUpdates`, but first measures the KL between the model before and
 * after the update on the step's batch, so curvature optimizers can report the
 * function-space size of each step. Costs up to two extra forward passes.
 */
export function applyUpdatesMeasuringKl(
  params: ParamMap,
  grads: GradMap,
  context: StepContext,
  delta: (name: string, param: tf.Variable, grad: tf.Tensor) => tf.Tensor,
): MeasuredUpdate {
  checkGradNames(params, grads);

  const candidate: ParamMap = new Map();
  const squares: tf.Scalar[] = [];
  try {
    // Inside the try, so candidates built before a throwing `delta` are disposed too.
    for (const [name, param] of params) {
      const grad = grads.get(name);
      if (grad === undefined) {
        candidate.set(name, param);
        continue;
      }
      const [next, square] = tf.tidy(() => {
        const update = delta(name, param, grad);
        return [tf.add(param, update), tf.sum(tf.square(update))] as const;
      });
      candidate.set(name, tf.variable(next, false));
      next.dispose();
      squares.push(square as tf.Scalar);
    }

    const stepKl = context.klTo(candidate);
    for (const [name, param] of params) {
      const next = candidate.get(name)!;
      if (next !== param) param.assign(next);
    }

    const total = tf.tidy(() => (squares.length === 0 ? tf.scalar(0) : tf.addN(squares)));
    const updateNorm = Math.sqrt(total.dataSync()[0]);
    total.dispose();
    return { updateNorm, stepKl };
  } finally {
    for (const [name, next] of candidate) if (next !== params.get(name)) next.dispose();
    for (const square of squares) square.dispose();
  }
}
