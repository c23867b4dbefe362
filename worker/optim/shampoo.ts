/**
 * Shampoo with layer-wise grafting.
 *
 * For each weight matrix with gradient G [m, n], the statistics L [m, m] and
 * R [n, n] start at ε·I and accumulate G Gᵀ and Gᵀ G. They form a plain sum
 * when `decay` is 1 and a running average otherwise. The Shampoo direction is
 * D = L^(-1/4) G R^(-1/4), with both roots from a float64 symmetric
 * eigendecomposition whose eigenvalues are floored at ε times the largest,
 * refreshed every `preconditionEvery` steps. The statistics and roots are
 * float64 on the CPU. G Gᵀ, Gᵀ G and D itself are float32 matmuls on the
 * TensorFlow.js backend, because ml-matrix products of the default model's
 * sizes took about 0.4 s per step on the build machine. Grafting takes the step length
 * from the graft optimizer: the update of each matrix is
 * −lr · (‖graft direction‖ / ‖D‖) · D, so Shampoo sets the direction and
 * Adam (or SGD with momentum β₁) the per-layer size. Vectors (biases, gains)
 * and the embeddings take the graft optimizer's own step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Matrix } from 'ml-matrix';
import type { z } from 'zod';
import type { shampooSchema } from '../../core/spec';
import type { NamedTensor } from '../../core/tensors/safetensors';
import { AdamMoments } from './adam';
import { CurvatureError } from './errors';
import { allFinite, inverseRoot, matrixFromTensor, toFloat32, toFloat64 } from './linalg';
import type { GradMap, Optimizer, OptimizerDiagnostics, ParamMap, StepContext } from './optimizer';
import { MomentumBuffers } from './sgd';
import { counterEntry, indexState, readCounter, requireEntry } from './state';
import { applyUpdatesMeasuringKl, checkGradNames } from './update';

export type ShampooConfig = z.output<typeof shampooSchema>;

/**
 * Largest side of L or R that gets a preconditioner. A larger side keeps the
 * identity, because its eigendecomposition costs O(size³) per refresh.
 * NOTE: 1024 is a judgement of cost, not measured. A refresh of the default
 * model (four 256×256 and many 64×64 eigendecompositions) took about 1 s on
 * the build machine, and cost grows with the cube of the side.
 */
export const MAX_PRECONDITIONER_SIZE = 1024;
const GRAFT_EPS = 1e-8;

interface Statistics {
  name: string;
  rows: number;
  columns: number;
  /** L and R; absent on a side larger than MAX_PRECONDITIONER_SIZE. */
  left?: Matrix;
  right?: Matrix;
  leftRoot?: Matrix;
  rightRoot?: Matrix;
  /** The roots as float32 tensors on the backend, replaced at each refresh. */
  leftRootTensor?: tf.Tensor2D;
  rightRootTensor?: tf.Tensor2D;
}

/** Returns whether Shampoo preconditions `name`: every matrix except the embeddings. */
function isPreconditioned(name: string, param: tf.Variable): boolean {
  return param.shape.length === 2 && name !== 'tokenEmbedding' && name !== 'positionEmbedding';
}

export class Shampoo implements Optimizer {
  readonly kind = 'shampoo';
  private readonly statistics = new Map<string, Statistics>();
  private readonly adam?: AdamMoments;
  private readonly momentum?: MomentumBuffers;
  private refreshMs = 0;
  private t = 0;

  constructor(
    private readonly config: ShampooConfig,
    params: ParamMap,
  ) {
    for (const [name, param] of params) {
      if (!isPreconditioned(name, param)) continue;
      const [rows, columns] = param.shape;
      const identity = (size: number) => (size <= MAX_PRECONDITIONER_SIZE ? Matrix.eye(size).mul(config.epsilon) : undefined);
      this.statistics.set(name, { name, rows, columns, left: identity(rows), right: identity(columns) });
    }
    if (config.graft === 'adam') this.adam = new AdamMoments(params, { beta1: config.beta1, beta2: config.beta2, eps: GRAFT_EPS });
    else this.momentum = new MomentumBuffers(params, config.beta1, false);
  }

  describe(): string {
    const preconditioned = [...this.statistics.keys()].join(', ');
    return `shampoo: preconditions ${preconditioned || 'nothing'}; ${this.config.graft} grafting and ${this.config.graft} steps for the rest`;
  }

  step(params: ParamMap, grads: GradMap, context: StepContext): OptimizerDiagnostics {
    checkGradNames(params, grads);
    this.t += 1;
    const t = this.t;

    const started = performance.now();
    const refreshDue = (t - 1) % this.config.preconditionEvery === 0;
    let refreshMs = 0;
    for (const stats of this.statistics.values()) {
      const grad = grads.get(stats.name);
      if (grad === undefined) continue;
      this.accumulate(stats, grad);
      if (refreshDue) refreshMs += this.refreshRoots(stats);
    }
    if (refreshDue) this.refreshMs = refreshMs;
    const preconditionMs = performance.now() - started;

    const { updateNorm, stepKl } = applyUpdatesMeasuringKl(params, grads, context, (name, _param, grad) => {
      const graft = this.graftDirection(name, grad, t);
      const stats = this.statistics.get(name);
      if (stats === undefined) return tf.mul(graft, -context.lr);

      // −lr · (‖graft‖ / ‖D‖) · D; a zero D (zero gradient) gives a zero update.
      const direction = shampooDirection(stats, grad as tf.Tensor2D);
      const directionNorm = tf.norm(direction);
      const scale = tf.div(tf.mul(tf.norm(graft), -context.lr), tf.maximum(directionNorm, 1e-30));
      return tf.mul(direction, scale);
    });

    return { updateNorm, 'opt.stepKl': stepKl, 'opt.refreshMs': this.refreshMs, 'opt.preconditionMs': preconditionMs };
  }

  /** Adds G Gᵀ to L and Gᵀ G to R (or folds them into the running averages). */
  private accumulate(stats: Statistics, grad: tf.Tensor): void {
    const { decay } = this.config;
    const fold = (current: Matrix, outer: Matrix) =>
      decay === 1 ? Matrix.add(current, outer) : Matrix.add(Matrix.mul(current, decay), Matrix.mul(outer, 1 - decay));
    const outerProduct = (transposeFirst: boolean) => {
      const product = tf.tidy(() => {
        const transposed = tf.transpose(grad);
        return transposeFirst ? tf.matMul(transposed, grad as tf.Tensor2D) : tf.matMul(grad as tf.Tensor2D, transposed);
      });
      const matrix = matrixFromTensor(product);
      product.dispose();
      if (!allFinite(matrix)) throw new CurvatureError(`gradient of "${stats.name}" contains NaN or infinite values`, stats.name);
      return matrix;
    };

    if (stats.left !== undefined) stats.left = fold(stats.left, outerProduct(false));
    if (stats.right !== undefined) stats.right = fold(stats.right, outerProduct(true));
  }

  /** Recomputes L^(-1/4) and R^(-1/4) and returns the milliseconds spent. */
  private refreshRoots(stats: Statistics): number {
    const started = performance.now();
    const { epsilon } = this.config;
    if (stats.left !== undefined) stats.leftRoot = inverseRoot(stats.left, 4, epsilon, `L of ${stats.name}`);
    if (stats.right !== undefined) stats.rightRoot = inverseRoot(stats.right, 4, epsilon, `R of ${stats.name}`);
    uploadRoots(stats);
    return performance.now() - started;
  }

  /** Returns the graft optimizer's direction for `name` (call inside tf.tidy). */
  private graftDirection(name: string, grad: tf.Tensor, t: number): tf.Tensor {
    if (this.adam !== undefined) return this.adam.direction(name, grad, t);
    return this.momentum!.direction(name, grad);
  }

  saveState(): NamedTensor[] {
    const entries: NamedTensor[] = [counterEntry('step', this.t)];
    for (const stats of this.statistics.values()) {
      const add = (label: string, matrix: Matrix | undefined) => {
        if (matrix !== undefined) entries.push({ name: `${label}.${stats.name}`, dtype: 'F64', shape: [matrix.rows, matrix.columns], data: toFloat64(matrix) });
      };
      add('L', stats.left);
      add('R', stats.right);
      add('rootL', stats.leftRoot);
      add('rootR', stats.rightRoot);
    }
    if (this.adam !== undefined) entries.push(...this.adam.save('graft.'));
    if (this.momentum !== undefined) entries.push(...this.momentum.save('graft.momentum.'));
    return entries;
  }

  loadState(state: NamedTensor[]): void {
    const byName = indexState(state, this.kind);
    this.t = readCounter(byName, 'step', this.kind);
    for (const stats of this.statistics.values()) {
      const read = (label: string, size: number) =>
        Matrix.from1DArray(size, size, Float64Array.from(requireEntry(byName, `${label}.${stats.name}`, [size, size], this.kind).data));
      const hasRoots = this.t > 0;
      if (stats.left !== undefined) {
        stats.left = read('L', stats.rows);
        stats.leftRoot = hasRoots ? read('rootL', stats.rows) : undefined;
      }
      if (stats.right !== undefined) {
        stats.right = read('R', stats.columns);
        stats.rightRoot = hasRoots ? read('rootR', stats.columns) : undefined;
      }
    }
    for (const stats of this.statistics.values()) uploadRoots(stats);
    this.adam?.load(byName, 'graft.', this.kind);
    this.momentum?.load(byName, 'graft.momentum.', this.kind);
  }

  dispose(): void {
    for (const stats of this.statistics.values()) tf.dispose([stats.leftRootTensor, stats.rightRootTensor].filter((root) => root !== undefined));
    this.adam?.dispose();
    this.momentum?.dispose();
  }
}

/** Replaces the float32 copies of the roots on the backend. */
function uploadRoots(stats: Statistics): void {
  stats.leftRootTensor?.dispose();
  stats.rightRootTensor?.dispose();
  const upload = (root: Matrix | undefined) => (root === undefined ? undefined : tf.tensor2d(toFloat32(root), [root.rows, root.columns], 'float32'));
  stats.leftRootTensor = upload(stats.leftRoot);
  stats.rightRootTensor = upload(stats.rightRoot);
}

/** Returns D = L^(-1/4) G R^(-1/4), a side without a root left as the identity (call inside tf.tidy). */
function shampooDirection(stats: Statistics, gradient: tf.Tensor2D): tf.Tensor2D {
  let direction = gradient;
  if (stats.leftRootTensor !== undefined) direction = tf.matMul(stats.leftRootTensor, direction);
  if (stats.rightRootTensor !== undefined) direction = tf.matMul(direction, stats.rightRootTensor);
  return direction;
}
