/**
 * Gradients of the kernels the model's backward pass goes through.
 *
 * tfjs-core 4.22 registers no gradients by itself, and its module that
 * registers them all (`dist/register_all_gradients`) is ESM with
 * extensionless imports, which Node's ESM loader cannot load. So the few
 * kernels the model differentiates through get their gradients here.
 * Kernels with a hand-written gradient (ops.ts) and `logSoftmax` (a custom
 * gradient inside tfjs-core) need none. A gradient that is already
 * registered, by tfjs-core's own module for example, is left in place.
 */
import * as tf from '@tensorflow/tfjs-core';

type GradConfig = Parameters<typeof tf.registerGradient>[0];

/** Sums `dy` over the axes along which `shape` was broadcast, then reshapes to `shape`. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  const reduced = axes.length > 0 ? tf.sum(dy, axes) : dy;
  return tf.reshape(reduced, shape);
}

const configs: GradConfig[] = [
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as tf.Tensor, a.shape),
      b: () => unbroadcast(dy as tf.Tensor, b.shape),
    }),
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as tf.Tensor, a.shape),
      b: () => unbroadcast(tf.neg(dy as tf.Tensor), b.shape),
    }),
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, b), a.shape),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, a), b.shape),
    }),
  },
  {
    kernelName: tf.RealDiv,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      // d(a/b)/da = 1/b; d(a/b)/db = −a/b².
      a: () => unbroadcast(tf.div(dy as tf.Tensor, b), a.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy as tf.Tensor, a), tf.square(b))), b.shape),
    }),
  },
  {
    kernelName: tf.Neg,
    gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }),
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
      // Put the reduced axes back as size 1, then broadcast over x's shape.
      const keptShape = x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, keptShape), tf.onesLike(x)) };
    },
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x.shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const perm = (attrs as unknown as { perm: number[] }).perm;
      const inverse = new Array<number>(perm.length);
      perm.forEach((axis, i) => {
        inverse[axis] = i;
      });
      return { x: () => tf.transpose(dy as tf.Tensor, inverse) };
    },
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
      const [beginIndex, sliceSize] = tf.slice_util.parseSliceParams(x, begin, size);
      // The gradient is dy placed back at the slice's position, zeros elsewhere.
      const paddings = x.shape.map((extent, axis) => [beginIndex[axis], extent - beginIndex[axis] - sliceSize[axis]] as [number, number]);
      return { x: () => tf.pad(dy as tf.Tensor, paddings) };
    },
  },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const dim = (attrs as unknown as { dim: number }).dim;
      // dx = y ⊙ (dy − Σ_j dy_j y_j) along the softmax axis.
      const dyTimesY = tf.mul(dy as tf.Tensor, y);
      return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y)) };
    },
  },
];

let registered = false;

/** Registers the gradients above. Calling it more than once is safe. */
export function registerModelGradients(): void {
  if (registered) return;
  for (const config of configs) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
  registered = true;
}
