/**
 * Entry point of the optimizers: `createOptimizer` builds the optimizer a
 * run's config names, and the helpers the training loop needs around it.
 */
import type { OptimizerConfig } from '../../core/spec';
import { Adam } from './adam';
import type { Optimizer, ParamMap } from './optimizer';
import { Kfac } from './kfac';
import { Sgd } from './sgd';
import { Shampoo } from './shampoo';
import { TrustRegion } from './trustRegion';

export type { Optimizer, OptimizerDiagnostics, ParamMap, GradMap, StepContext, LinearCapture, Batch } from './optimizer';
export { learningRateAt } from './schedule';
export type { Schedule } from './schedule';
export { clipByGlobalNorm, globalNorm } from './clip';
export type { ClippedGradients } from './clip';
export { CurvatureError } from './errors';

/**
 * Builds the optimizer for `config` over `params`. State tensors (moments,
 * buffers) are allocated here, so the first step allocates nothing that
 * outlives it. The caller disposes the optimizer.
 */
export function createOptimizer(config: OptimizerConfig, params: ParamMap): Optimizer {
  switch (config.kind) {
    case 'sgd':
      return new Sgd(config, params);
    case 'adam':
    case 'adamw':
      return new Adam(config, params);
    case 'kfac':
      return new Kfac(config, params);
    case 'shampoo':
      return new Shampoo(config, params);
    case 'trust-region':
      return new TrustRegion(config, params);
  }
}

/**
 * Returns the peak learning rate the schedule scales. The trust region sets its
 * own step length from the KL budget and has no learning rate, so its peak is 1
 * and the schedule's value reaches it as a multiplier of the budget.
 */
export function baseLearningRate(config: OptimizerConfig): number {
  return config.kind === 'trust-region' ? 1 : config.lr;
}
