import * as tf from '@tensorflow/tfjs-core';
import type { GradMap, ParamMap } from './optimizer';

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
