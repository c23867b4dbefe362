import * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import type { adamSchema, adamwSchema } from '../../core/spec';
import type { NamedTensor } from '../../core/tensors/safetensors';
import type { GradMap, Optimizer, OptimizerDiagnostics, ParamMap, StepContext } from './optimizer';
import { applyUpdates } from './update';
import { assignEntry, counterEntry, indexState, readCounter, requireEntry, toNamedTensor, zerosLike } from './state';

export type AdamConfig = z.output<typeof adamSchema>;
export type AdamwConfig = z.output<typeof adamwSchema>;

export interface AdamHyperparameters {
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * Adam's first and second moments per parameter, with bias correction:
 * `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, direction
 * `(m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)`. Shared by Adam, AdamW, K-FAC's
 * fallback and Shampoo's grafting. The step count `t` belongs to the caller.
 */
export class AdamMoments {
  private readonly first = new Map<string, tf.Variable>();
  private readonly second = new Map<string, tf.Variable>();

  constructor(
    params: ParamMap,
    private readonly hyper: AdamHyperparameters,
    /** Parameters to track, or all of them when omitted. */
    names: Iterable<string> = params.keys(),
  ) {
    for (const name of names) {
      const param = params.get(name);
      if (param === undefined) throw new Error(`Adam moments requested for unknown parameter "${name}"`);
      this.first.set(name, zerosLike(param));
      this.second.set(name, zerosLike(param));
    }
  }

  /** Updates the moments of `name` for step `t` (1-based) and returns the direction (call inside tf.tidy). */
  direction(name: string, grad: tf.Tensor, t: number): tf.Tensor {
    const m = this.first.get(name);
    const v = this.second.get(name);
    if (m === undefined || v === undefined) throw new Error(`Adam moments do not track parameter "${name}"`);
    const { beta1, beta2, eps } = this.hyper;

    const newM = tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1));
    const newV = tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2));
    m.assign(newM);
    v.assign(newV);

    const mHat = tf.div(newM, 1 - beta1 ** t);
    const vHat = tf.div(newV, 1 - beta2 ** t);
    return tf.div(mHat, tf.add(tf.sqrt(vHat), eps));
  }

  save(prefix: string): NamedTensor[] {
    const entries: NamedTensor[] = [];
    for (const name of this.first.keys()) {
      entries.push(toNamedTensor(`${prefix}m.${name}`, this.first.get(name)!));
      entries.push(toNamedTensor(`${prefix}v.${name}`, this.second.get(name)!));
    }
    return entries;
  }

  load(byName: Map<string, NamedTensor>, prefix: string, kind: string): void {
    for (const [name, m] of this.first) {
      const v = this.second.get(name)!;
      assignEntry(m, requireEntry(byName, `${prefix}m.${name}`, m.shape, kind));
      assignEntry(v, requireEntry(byName, `${prefix}v.${name}`, v.shape, kind));
    }
  }

  dispose(): void {
    for (const variable of [...this.first.values(), ...this.second.values()]) variable.dispose();
    this.first.clear();
    this.second.clear();
  }
}

/**
 * Adam, and AdamW when the config has `weightDecay`. AdamW's weight decay is
 * decoupled from the moments: `θ ← θ − lr·(direction + λθ)`,
 * equal to PyTorch's `torch.optim.AdamW`.
 */
export class Adam implements Optimizer {
  readonly kind: 'adam' | 'adamw';
  private readonly moments: AdamMoments;
  private readonly weightDecay: number;
  private t = 0;

  constructor(config: AdamConfig | AdamwConfig, params: ParamMap) {
    this.kind = config.kind;
    this.weightDecay = config.kind === 'adamw' ? config.weightDecay : 0;
    this.moments = new AdamMoments(params, config);
  }

  step(params: ParamMap, grads: GradMap, context: StepContext): OptimizerDiagnostics {
    this.t += 1;
    const t = this.t;
    const updateNorm = applyUpdates(params, grads, (name, param, grad) => {
      const direction = this.moments.direction(name, grad, t);
      const decayed = this.weightDecay === 0 ? direction : tf.add(direction, tf.mul(param, this.weightDecay));
      return tf.mul(decayed, -context.lr);
    });
    return { updateNorm };
  }

  saveState(): NamedTensor[] {
    return [counterEntry('step', this.t), ...this.moments.save('')];
  }

  loadState(state: NamedTensor[]): void {
    const byName = indexState(state, this.kind);
    this.t = readCounter(byName, 'step', this.kind);
    this.moments.load(byName, '', this.kind);
  }

  dispose(): void {
    this.moments.dispose();
  }
}
