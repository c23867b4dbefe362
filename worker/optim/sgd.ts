import * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import type { sgdSchema } from '../../core/spec';
import type { NamedTensor } from '../../core/tensors/safetensors';
import type { GradMap, Optimizer, OptimizerDiagnostics, ParamMap, StepContext } from './optimizer';
import { applyUpdates } from './update';
import { assignEntry, indexState, requireEntry, toNamedTensor, zerosLike } from './state';

export type SgdConfig = z.output<typeof sgdSchema>;

/**
 * Momentum buffers of stochastic gradient descent, in PyTorch's convention
 * (no dampening): `b ← μ b + g`, direction `b`, or `g + μ b` with Nesterov.
 * Shared by SGD itself and by Shampoo's SGD grafting.
 */
export class MomentumBuffers {
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(
    params: ParamMap,
    private readonly momentum: number,
    private readonly nesterov: boolean,
  ) {
    if (momentum === 0) return;
    for (const [name, param] of params) this.buffers.set(name, zerosLike(param));
  }

  /** Updates the buffer of `name` with `grad` and returns the step direction (call inside tf.tidy). */
  direction(name: string, grad: tf.Tensor): tf.Tensor {
    const buffer = this.buffers.get(name);
    if (buffer === undefined) return grad;

    const updated = tf.add(tf.mul(buffer, this.momentum), grad);
    buffer.assign(updated);
    return this.nesterov ? tf.add(grad, tf.mul(updated, this.momentum)) : updated;
  }

  save(prefix: string): NamedTensor[] {
    return [...this.buffers].map(([name, buffer]) => toNamedTensor(`${prefix}${name}`, buffer));
  }

  load(byName: Map<string, NamedTensor>, prefix: string, kind: string): void {
    for (const [name, buffer] of this.buffers) {
      assignEntry(buffer, requireEntry(byName, `${prefix}${name}`, buffer.shape, kind));
    }
  }

  dispose(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }
}

/**
 * SGD with optional momentum, Nesterov momentum and L2 weight decay added to
 * the gradient (`g + λθ`, as PyTorch's `torch.optim.SGD`). The step is
 * `θ ← θ − lr · direction` with `lr` from the step context.
 */
export class Sgd implements Optimizer {
  readonly kind = 'sgd';
  private readonly buffers: MomentumBuffers;

  constructor(
    private readonly config: SgdConfig,
    params: ParamMap,
  ) {
    this.buffers = new MomentumBuffers(params, config.momentum, config.nesterov);
  }

  step(params: ParamMap, grads: GradMap, context: StepContext): OptimizerDiagnostics {
    const { weightDecay } = this.config;
    const updateNorm = applyUpdates(params, grads, (name, param, grad) => {
      const decayed = weightDecay === 0 ? grad : tf.add(grad, tf.mul(param, weightDecay));
      return tf.mul(this.buffers.direction(name, decayed), -context.lr);
    });
    return { updateNorm };
  }

  saveState(): NamedTensor[] {
    return this.buffers.save('momentum.');
  }

  loadState(state: NamedTensor[]): void {
    this.buffers.load(indexState(state, this.kind), 'momentum.', this.kind);
  }

  dispose(): void {
    this.buffers.dispose();
  }
}
