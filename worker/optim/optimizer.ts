/**
 * The optimizer interface the training loop drives. First-order optimizers
 * use only the gradients. Geometry-aware ones (K-FAC, Shampoo, the KL trust
 * region) also use the `StepContext` to re-run the model, read captured layer
 * inputs and output gradients, and measure KL between parameter settings.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '../../core/tensors/safetensors';

/** Parameters by name, in the model's fixed documented order. */
export type ParamMap = Map<string, tf.Variable>;
export type GradMap = Map<string, tf.Tensor>;

/** Inputs and output gradients of one linear map `y = x W (+ b)`, rows flattened over batch and sequence. */
export interface LinearCapture {
  /** Name of the weight parameter, e.g. `blocks.0.attn.wq`. */
  weight: string;
  /** Name of the bias parameter, when the map has one. */
  bias?: string;
  /** Inputs x, [batch * seq, dIn]. */
  inputs: tf.Tensor2D;
  /** Gradients of the summed loss with respect to the outputs y, [batch * seq, dOut]. */
  outputGrads: tf.Tensor2D;
}

export interface Batch {
  /** [batch, seq] token ids. */
  inputs: tf.Tensor2D;
  /** [batch, seq] next-token ids. */
  targets: tf.Tensor2D;
}

export interface StepContext {
  step: number;
  /** Learning rate from the schedule for this step. */
  lr: number;
  batch: Batch;
  /** Model logits [batch, seq, vocab] for the current parameters. */
  logits(params?: ParamMap): tf.Tensor3D;
  /**
   * Runs forward and backward with `labels` (the data's targets, or labels
   * sampled from the model for the true Fisher) and returns, per linear map,
   * its inputs and the gradients with respect to its outputs. The caller
   * disposes the returned tensors.
   */
  captureLinears(labels: 'data' | 'sampled'): LinearCapture[];
  /** Mean over positions of KL(p_current ‖ p_candidate) on the batch, in nats. */
  klTo(candidate: ParamMap): number;
  /** Mean cross-entropy loss on the batch for the given parameters. */
  lossAt(candidate: ParamMap): number;
}

/**
 * Metrics an optimizer reports for the step it just took: `updateNorm`, the
 * L2 norm of the whole parameter change (a run metric), and diagnostics
 * prefixed `opt.` (`opt.damping`, `opt.stepKl`, `opt.refreshMs`, ...).
 */
export type OptimizerDiagnostics = Record<string, number>;

export interface Optimizer {
  readonly kind: string;
  /**
   * Updates `params` in place from `grads`. Must not leak tensors: every
   * intermediate is disposed before returning.
   */
  step(params: ParamMap, grads: GradMap, context: StepContext): OptimizerDiagnostics;
  /** The optimizer's state as named float tensors, enough to resume bit-exactly. */
  saveState(): NamedTensor[];
  loadState(state: NamedTensor[]): void;
  /**
   * One line for the run log, written once when training starts, describing
   * how the optimizer treats the parameters (e.g. which ones K-FAC leaves to
   * its fallback). Optional: first-order optimizers have none.
   */
  describe?(): string;
  dispose(): void;
}
