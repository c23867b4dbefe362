/**
 * KL trust region: each step moves as far along a natural-gradient direction
 * as the KL budget δ allows, measured on the step's batch.
 *
 * 1. Direction d ≈ (F + λI)⁻¹ g, by conjugate gradient with Fisher–vector
 *    products (fisher.ts), or K-FAC's preconditioned gradient.
 * 2. Step length s = √(2δ / dᵀ(F + λI)d), so the quadratic model of the KL,
 *    ½ s² dᵀFd, stays within δ.
 * 3. Backtracking: the step θ − s βᵏ d is accepted for the first k in
 *    0..maxBacktracks at which the measured KL(p_θ ‖ p_new) ≤ δ and the loss
 *    has not risen. When no k passes, the parameters stay as they were.
 *
 * The trust region has no learning rate. The schedule's value, whose peak is
 * 1 for this optimizer, multiplies δ, so warm-up and cosine decay shrink the
 * budget.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import type { trustRegionSchema } from '../../core/spec';
import type { NamedTensor } from '../../core/tensors/safetensors';
import { CurvatureError } from './errors';
import { addScaled, candidateAt, disposeCandidate, disposeVector, dot, FisherVectorProduct, type ParamVector } from './fisher';
import { KroneckerPreconditioner } from './kfac';
import type { GradMap, Optimizer, OptimizerDiagnostics, ParamMap, StepContext } from './optimizer';
import { counterEntry, indexState, readCounter } from './state';
import { checkGradNames } from './update';

export type TrustRegionConfig = z.output<typeof trustRegionSchema>;

/** Conjugate gradient stops once ‖r‖ falls below this fraction of ‖g‖. */
const CG_TOLERANCE = 1e-6;
/** Settings of the Kronecker factors behind the `kfac` direction, as K-FAC's defaults. */
const KRONECKER_DEFAULTS = { factorDecay: 0.95, inverseEvery: 10, fisher: 'true' as const };

export class TrustRegion implements Optimizer {
  readonly kind = 'trust-region';
  private readonly kronecker?: KroneckerPreconditioner;
  private t = 0;

  constructor(
    private readonly config: TrustRegionConfig,
    params: ParamMap,
  ) {
    if (config.direction === 'kfac') this.kronecker = new KroneckerPreconditioner(params, { ...KRONECKER_DEFAULTS, damping: config.damping });
  }

  describe(): string {
    if (this.kronecker === undefined) return `trust-region: conjugate-gradient natural gradient, ${this.config.cgIterations} iterations`;
    const layers = this.kronecker.layers.map((layer) => layer.weight).join(', ');
    return `trust-region: K-FAC direction for ${layers}; plain gradient for the other parameters`;
  }

  step(params: ParamMap, grads: GradMap, context: StepContext): OptimizerDiagnostics {
    checkGradNames(params, grads);
    this.t += 1;
    const maxKl = this.config.maxKl * context.lr;
    const gradient: ParamVector = new Map([...params.keys()].filter((name) => grads.has(name)).map((name) => [name, grads.get(name)!]));
    const diagnostics: OptimizerDiagnostics = { 'opt.damping': this.config.damping, 'opt.maxKl': maxKl };

    const fisher = new FisherVectorProduct(params, context);
    let direction: ParamVector | undefined;
    try {
      const started = performance.now();
      direction = this.kronecker === undefined ? this.conjugateGradient(fisher, gradient, diagnostics) : this.kroneckerDirection(gradient, context, diagnostics);
      diagnostics['opt.directionMs'] = performance.now() - started;
      if (direction === undefined || !(maxKl > 0)) return { ...diagnostics, ...rejected(0) };

      const fd = fisher.apply(direction);
      const curvature = dot(direction, fd) + this.config.damping * dot(direction, direction);
      disposeVector(fd);
      if (!Number.isFinite(curvature) || curvature <= 0) {
        throw new CurvatureError(`trust region found curvature dᵀ(F + λI)d = ${curvature} along its direction; expected a positive finite value`);
      }
      const stepSize = Math.sqrt((2 * maxKl) / curvature);
      return { ...diagnostics, ...this.backtrack(params, context, direction, stepSize, maxKl) };
    } finally {
      fisher.dispose();
      if (direction !== undefined) disposeVector(direction);
    }
  }

  /**
   * Solves (F + λI) d = g by conjugate gradient from d = 0. Returns undefined
   * for a zero gradient.
   */
  private conjugateGradient(fisher: FisherVectorProduct, gradient: ParamVector, diagnostics: OptimizerDiagnostics): ParamVector | undefined {
    const damping = this.config.damping;
    const gradientSquared = dot(gradient, gradient);
    if (!Number.isFinite(gradientSquared)) throw new CurvatureError(`trust region received a gradient with squared norm ${gradientSquared}`);
    if (gradientSquared === 0) return undefined;

    let solution: ParamVector = addScaled(gradient, gradient, -1);
    let residual: ParamVector = addScaled(gradient, gradient, 0);
    let search: ParamVector = addScaled(gradient, gradient, 0);
    let residualSquared = gradientSquared;
    let iterations = 0;
    try {
      while (iterations < this.config.cgIterations && residualSquared > CG_TOLERANCE ** 2 * gradientSquared) {
        const product = fisher.apply(search);
        const damped = addScaled(product, search, damping);
        disposeVector(product);
        const curvature = dot(search, damped);
        if (!Number.isFinite(curvature) || curvature <= 0) {
          disposeVector(damped);
          throw new CurvatureError(`conjugate gradient found curvature pᵀ(F + λI)p = ${curvature}; expected a positive finite value`);
        }

        const alpha = residualSquared / curvature;
        solution = replace(solution, addScaled(solution, search, alpha));
        residual = replace(residual, addScaled(residual, damped, -alpha));
        disposeVector(damped);
        const nextSquared = dot(residual, residual);
        search = replace(search, addScaled(residual, search, nextSquared / residualSquared));
        residualSquared = nextSquared;
        iterations += 1;
      }
    } catch (error) {
      disposeVector(solution);
      throw error;
    } finally {
      disposeVector(residual);
      disposeVector(search);
    }

    diagnostics['opt.cgIterations'] = iterations;
    diagnostics['opt.cgResidual'] = Math.sqrt(residualSquared / gradientSquared);
    return solution;
  }

  /** Returns K-FAC's (A + λI)⁻¹ ∇W (G + λI)⁻¹ for the linear maps and the plain gradient elsewhere. */
  private kroneckerDirection(gradient: ParamVector, context: StepContext, diagnostics: OptimizerDiagnostics): ParamVector | undefined {
    const kronecker = this.kronecker!;
    kronecker.update(context);
    diagnostics['opt.refreshMs'] = kronecker.refreshMs;
    const { directions, dot: naturalDot } = kronecker.precondition(gradient);
    if (naturalDot === 0) {
      tf.dispose([...directions.values()]);
      return undefined;
    }

    const out: ParamVector = new Map();
    for (const [name, grad] of gradient) {
      out.set(name, kronecker.covers(name) ? tf.tidy(() => kronecker.slice(name, directions)) : tf.clone(grad));
    }
    tf.dispose([...directions.values()]);
    return out;
  }

  /** Tries θ − s βᵏ d for k = 0, 1, … and keeps the first step within the budget that does not raise the loss. */
  private backtrack(params: ParamMap, context: StepContext, direction: ParamVector, stepSize: number, maxKl: number): OptimizerDiagnostics {
    const lossBefore = context.lossAt(params);
    let size = stepSize;
    for (let backtracks = 0; backtracks <= this.config.maxBacktracks; backtracks += 1) {
      const candidate = candidateAt(params, direction, -size);
      try {
        const stepKl = context.klTo(candidate);
        const loss = context.lossAt(candidate);
        if (stepKl <= maxKl && loss <= lossBefore) {
          for (const [name, param] of params) {
            const next = candidate.get(name)!;
            if (next !== param) param.assign(next);
          }
          const updateNorm = size * Math.sqrt(dot(direction, direction));
          return { updateNorm, 'opt.stepKl': stepKl, 'opt.stepSize': size, 'opt.backtracks': backtracks, 'opt.accepted': 1 };
        }
      } finally {
        disposeCandidate(candidate, params);
      }
      size *= this.config.backtrackFactor;
    }
    return rejected(this.config.maxBacktracks);
  }

  saveState(): NamedTensor[] {
    return [counterEntry('step', this.t), ...(this.kronecker?.save() ?? [])];
  }

  loadState(state: NamedTensor[]): void {
    const byName = indexState(state, this.kind);
    this.t = readCounter(byName, 'step', this.kind);
    this.kronecker?.load(byName, this.kind);
  }

  dispose(): void {
    this.kronecker?.dispose();
  }
}

/** Diagnostics of a step that left the parameters unchanged. */
function rejected(backtracks: number): OptimizerDiagnostics {
  return { updateNorm: 0, 'opt.stepKl': 0, 'opt.stepSize': 0, 'opt.backtracks': backtracks, 'opt.accepted': 0 };
}

function replace(old: ParamVector, next: ParamVector): ParamVector {
  disposeVector(old);
  return next;
}

