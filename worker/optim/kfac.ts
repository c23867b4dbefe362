/**
 * K-FAC natural gradient (Kronecker-factored approximate curvature) for the
 * transformer's linear maps.
 *
 * For a linear map `y = x W + b` with W of shape [dIn, dOut], write
 * ā = [x, 1] (the 1 only when the map has a bias) and g = ∂ℓ/∂y for the
 * loss ℓ at one position. The gradient of ℓ with respect to [W; b] is ā gᵀ,
 * so the Fisher block of [W; b] is E[(ā āᵀ) ⊗ (g gᵀ)] ≈ A ⊗ G with
 * A = E[ā āᵀ] and G = E[g gᵀ], expectations over every batch row and sequence
 * position. The damped natural gradient in our [dIn, dOut] layout is
 * (A + λI)⁻¹ ∇[W; b] (G + λI)⁻¹.
 *
 * Scaling convention: the `StepContext` returns gradients of the summed loss,
 * so each row of `outputGrads` is the gradient of one position's loss and
 * G is their plain mean. The Fisher is then that of the mean per-position
 * log-likelihood, which matches the gradient of the mean training loss the
 * optimizer receives, and ½ Δᵀ F Δ approximates the mean per-position KL.
 * With a mean loss over B·T positions the rows would carry an extra factor
 * 1/(B·T) and G would come out (B·T)² times too small.
 *
 * NOTE: A and G average over all B·T rows, including positions that carry no
 * loss (targets of -1, as in the modular task). For such tasks G comes out
 * smaller by the share of positions without loss, which acts like a larger
 * damping.
 *
 * How the output gradients come out of TensorFlow.js: TensorFlow.js offers no
 * per-layer hooks, so the model's `captureLinears` adds a zero "tap" tensor to
 * each linear map's output (y = x W + b + tap) and differentiates the summed
 * loss with respect to the taps. Because the tap enters additively, its
 * gradient equals ∂loss/∂y at every row. The same forward pass returns the
 * inputs x. With `labels: 'sampled'` the loss uses labels drawn from the
 * model's own predictive distribution, so G estimates the true Fisher. With
 * 'data' it uses the data's targets, which gives the empirical Fisher.
 *
 * Parameters without Kronecker factors (embeddings, LayerNorm gains and biases,
 * the tied output matrix) take the `fallback` optimizer's step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Matrix } from 'ml-matrix';
import type { z } from 'zod';
import type { kfacSchema } from '../../core/spec';
import type { NamedTensor } from '../../core/tensors/safetensors';
import { AdamMoments } from './adam';
import { CurvatureError } from './errors';
import { dampedInverse, matrixFromTensor, toFloat32, toFloat64 } from './linalg';
import type { GradMap, LinearCapture, Optimizer, OptimizerDiagnostics, ParamMap, StepContext } from './optimizer';
import { MomentumBuffers } from './sgd';
import { assignEntry, counterEntry, indexState, readCounter, requireEntry, toNamedTensor, zerosLike } from './state';
import { applyUpdatesMeasuringKl, checkGradNames } from './update';

export type KfacConfig = z.output<typeof kfacSchema>;

/** Peak learning rate of the fallback optimizer (Adam's default), scaled by the schedule like K-FAC's own. */
export const FALLBACK_LR = 3e-3;
const FALLBACK_ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const MIN_DAMPING = 1e-8;
const MAX_DAMPING = 1e4;

/** A linear map `y = x W (+ b)` by its parameter names. */
export interface LinearMap {
  weight: string;
  bias?: string;
}

/**
 * Lists the linear maps among `params` by the model's naming convention:
 * attention wq, wk, wv, wo with biases bq, bk, bv, bo; MLP wUp, wDown with
 * bUp, bDown; and `unembedding` (no bias), present only when untied.
 */
export function linearMapsOf(params: ParamMap): LinearMap[] {
  const maps: LinearMap[] = [];
  for (const name of params.keys()) {
    if (name === 'unembedding') {
      maps.push({ weight: name });
      continue;
    }
    const match = /^(.*\.)(attn\.w[qkvo]|mlp\.wUp|mlp\.wDown)$/.exec(name);
    if (match === null) continue;
    const bias = name.replace(/\.w([qkvo])$/, '.b$1').replace(/\.wUp$/, '.bUp').replace(/\.wDown$/, '.bDown');
    maps.push(params.has(bias) ? { weight: name, bias } : { weight: name });
  }
  return maps;
}

interface Layer extends LinearMap {
  dIn: number;
  dOut: number;
  /** Running averages of A [dIn(+1), dIn(+1)] and G [dOut, dOut]; absent before the first step. */
  a?: Matrix;
  g?: Matrix;
  /** (A + λI)⁻¹ and (G + λI)⁻¹ from the last refresh. */
  aInverse?: Matrix;
  gInverse?: Matrix;
  /** Float32 copies of the inverses on the backend, which apply them. */
  aInverseTensor?: tf.Tensor2D;
  gInverseTensor?: tf.Tensor2D;
}

/** Preconditioner settings K-FAC shares with the trust region's `kfac` direction. */
export interface KroneckerSettings {
  factorDecay: number;
  damping: number;
  inverseEvery: number;
  fisher: 'true' | 'empirical';
}

/**
 * The Kronecker factors of every linear map and their damped inverses: the
 * curvature part of K-FAC, without a step rule, so the trust region can reuse
 * it as a search direction.
 */
export class KroneckerPreconditioner {
  readonly layers: Layer[];
  damping: number;
  /** Milliseconds of the most recent inverse refresh. */
  refreshMs = 0;
  private updates = 0;

  constructor(
    params: ParamMap,
    private readonly settings: KroneckerSettings,
  ) {
    this.damping = settings.damping;
    this.layers = linearMapsOf(params).map((map) => {
      const [dIn, dOut] = params.get(map.weight)!.shape;
      return { ...map, dIn: map.bias === undefined ? dIn : dIn + 1, dOut };
    });
  }

  covers(name: string): boolean {
    return this.layers.some((layer) => layer.weight === name || layer.bias === name);
  }

  /** Folds this batch's factors into the running averages and refreshes the inverses when due. */
  update(context: StepContext): void {
    const captures = context.captureLinears(this.settings.fisher === 'true' ? 'sampled' : 'data');
    try {
      const byWeight = new Map(captures.map((capture) => [capture.weight, capture]));
      for (const layer of this.layers) {
        const capture = byWeight.get(layer.weight);
        if (capture === undefined) throw new Error(`captureLinears returned nothing for linear map "${layer.weight}"`);
        this.fold(layer, capture);
      }
    } finally {
      for (const capture of captures) {
        capture.inputs.dispose();
        capture.outputGrads.dispose();
      }
    }

    if (this.updates % this.settings.inverseEvery === 0) this.refresh();
    this.updates += 1;
  }

  private fold(layer: Layer, capture: LinearCapture): void {
    const [aTensor, gTensor] = batchFactors(capture, layer.bias !== undefined);
    const aBatch = matrixFromTensor(aTensor);
    const gBatch = matrixFromTensor(gTensor);
    aTensor.dispose();
    gTensor.dispose();
    if (aBatch.rows !== layer.dIn || gBatch.rows !== layer.dOut) {
      throw new Error(
        `captured shapes of "${layer.weight}" give factors of size ${aBatch.rows} and ${gBatch.rows}; expected ${layer.dIn} and ${layer.dOut}`,
      );
    }

    const decay = this.settings.factorDecay;
    layer.a = layer.a === undefined ? aBatch : Matrix.add(Matrix.mul(layer.a, decay), Matrix.mul(aBatch, 1 - decay));
    layer.g = layer.g === undefined ? gBatch : Matrix.add(Matrix.mul(layer.g, decay), Matrix.mul(gBatch, 1 - decay));
  }

  /** Recomputes (A + λI)⁻¹ and (G + λI)⁻¹ for every layer in float64. */
  refresh(): void {
    const started = performance.now();
    for (const layer of this.layers) {
      if (layer.a === undefined || layer.g === undefined) throw new Error(`K-FAC factors of "${layer.weight}" are missing`);
      layer.aInverse = dampedInverse(layer.a, this.damping, `A of ${layer.weight}`);
      layer.gInverse = dampedInverse(layer.g, this.damping, `G of ${layer.weight}`);
      uploadInverses(layer);
    }
    this.refreshMs = performance.now() - started;
  }

  /**
   * Returns the preconditioned gradient (A + λI)⁻¹ ∇[W; b] (G + λI)⁻¹ of each
   * layer as a [dIn(+1), dOut] tensor keyed by the weight name (the caller
   * disposes them), and Σ ⟨F̂⁻¹g, g⟩ over the layers. The products run in
   * float32 on the backend, with inverses computed in float64.
   */
  precondition(grads: GradMap): { directions: Map<string, tf.Tensor2D>; dot: number } {
    const directions = new Map<string, tf.Tensor2D>();
    const dots: tf.Scalar[] = [];
    for (const layer of this.layers) {
      if (layer.aInverseTensor === undefined || layer.gInverseTensor === undefined) {
        throw new Error(`K-FAC inverses of "${layer.weight}" are missing; call update before precondition`);
      }
      const [direction, layerDot] = tf.tidy(() => {
        const gradient = stackedGradient(layer, grads);
        const preconditioned = tf.matMul(tf.matMul(layer.aInverseTensor!, gradient), layer.gInverseTensor!);
        return [preconditioned, tf.sum(tf.mul(preconditioned, gradient))] as const;
      });
      directions.set(layer.weight, direction as tf.Tensor2D);
      dots.push(layerDot as tf.Scalar);
    }

    const total = tf.tidy(() => (dots.length === 0 ? tf.scalar(0) : tf.addN(dots)));
    const dot = total.dataSync()[0];
    tf.dispose([total, ...dots]);
    if (!Number.isFinite(dot)) {
      tf.dispose([...directions.values()]);
      throw new CurvatureError(`K-FAC preconditioned gradient is not finite (⟨F̂⁻¹g, g⟩ = ${dot})`);
    }
    return { directions, dot };
  }

  /** Returns the rows of a layer's direction that belong to `name`, shaped like that parameter (call inside tf.tidy). */
  slice(name: string, directions: Map<string, tf.Tensor2D>): tf.Tensor {
    const layer = this.layers.find((candidate) => candidate.weight === name || candidate.bias === name)!;
    const direction = directions.get(layer.weight)!;
    const weightRows = layer.bias === undefined ? layer.dIn : layer.dIn - 1;
    if (name === layer.weight) return layer.bias === undefined ? tf.clone(direction) : tf.slice(direction, [0, 0], [weightRows, layer.dOut]);
    return tf.reshape(tf.slice(direction, [weightRows, 0], [1, layer.dOut]), [layer.dOut]);
  }

  dispose(): void {
    for (const layer of this.layers) tf.dispose([layer.aInverseTensor, layer.gInverseTensor].filter((tensor) => tensor !== undefined));
  }

  save(): NamedTensor[] {
    const entries: NamedTensor[] = [counterEntry('kronecker.updates', this.updates), scalarEntry('kronecker.damping', this.damping)];
    if (this.updates === 0) return entries;
    for (const layer of this.layers) {
      entries.push(matrixEntry(`kronecker.A.${layer.weight}`, layer.a!));
      entries.push(matrixEntry(`kronecker.G.${layer.weight}`, layer.g!));
      entries.push(matrixEntry(`kronecker.inverseA.${layer.weight}`, layer.aInverse!));
      entries.push(matrixEntry(`kronecker.inverseG.${layer.weight}`, layer.gInverse!));
    }
    return entries;
  }

  load(byName: Map<string, NamedTensor>, kind: string): void {
    this.updates = readCounter(byName, 'kronecker.updates', kind);
    this.damping = requireEntry(byName, 'kronecker.damping', [], kind).data[0];
    for (const layer of this.layers) {
      if (this.updates === 0) {
        layer.a = layer.g = layer.aInverse = layer.gInverse = undefined;
        uploadInverses(layer);
        continue;
      }
      const read = (name: string, size: number) =>
        Matrix.from1DArray(size, size, Float64Array.from(requireEntry(byName, name, [size, size], kind).data));
      layer.a = read(`kronecker.A.${layer.weight}`, layer.dIn);
      layer.g = read(`kronecker.G.${layer.weight}`, layer.dOut);
      layer.aInverse = read(`kronecker.inverseA.${layer.weight}`, layer.dIn);
      layer.gInverse = read(`kronecker.inverseG.${layer.weight}`, layer.dOut);
      uploadInverses(layer);
    }
  }
}

/**
 * Returns A = āᵀā / N and G = gᵀg / N for one batch, as float32 tensors. The
 * explicit transpose and plain matmul ran about 8× faster on the wasm backend
 * than a matmul with `transposeA`, in a one-off timing of the default model's
 * factors. Treat the factor as an estimate because the machine was not recorded.
 */
function batchFactors(capture: LinearCapture, withBias: boolean): [tf.Tensor2D, tf.Tensor2D] {
  return tf.tidy(() => {
    const rows = capture.inputs.shape[0];
    const inputs = withBias ? tf.concat([capture.inputs, tf.ones([rows, 1])], 1) : capture.inputs;
    const a = tf.div(tf.matMul(tf.transpose(inputs), inputs), rows) as tf.Tensor2D;
    const g = tf.div(tf.matMul(tf.transpose(capture.outputGrads), capture.outputGrads), rows) as tf.Tensor2D;
    return [a, g];
  });
}

/** Returns ∇[W; b], the weight gradient with the bias gradient appended as a last row (call inside tf.tidy). */
function stackedGradient(layer: Layer, grads: GradMap): tf.Tensor2D {
  const weightGrad = grads.get(layer.weight);
  if (weightGrad === undefined) throw new Error(`missing gradient for linear map "${layer.weight}"`);
  if (layer.bias === undefined) return weightGrad as tf.Tensor2D;

  const biasGrad = grads.get(layer.bias);
  if (biasGrad === undefined) throw new Error(`missing gradient for bias "${layer.bias}"`);
  return tf.concat([weightGrad as tf.Tensor2D, tf.reshape(biasGrad, [1, layer.dOut])], 0);
}

function uploadInverses(layer: Layer): void {
  layer.aInverseTensor?.dispose();
  layer.gInverseTensor?.dispose();
  const upload = (matrix: Matrix) => tf.tensor2d(toFloat32(matrix), [matrix.rows, matrix.columns], 'float32');
  layer.aInverseTensor = layer.aInverse === undefined ? undefined : upload(layer.aInverse);
  layer.gInverseTensor = layer.gInverse === undefined ? undefined : upload(layer.gInverse);
}

function matrixEntry(name: string, matrix: Matrix): NamedTensor {
  return { name, dtype: 'F64', shape: [matrix.rows, matrix.columns], data: toFloat64(matrix) };
}

function scalarEntry(name: string, value: number): NamedTensor {
  return { name, dtype: 'F64', shape: [], data: Float64Array.of(value) };
}

/**
 * Step rule of a parameter without Kronecker factors: Adam, or an RMSprop-style
 * diagonal preconditioner g / (√v + λ) with v the running average (decay
 * `factorDecay`) of squared gradients. Both run at `FALLBACK_LR` scaled by the
 * schedule.
 */
class Fallback {
  private readonly adam?: AdamMoments;
  private readonly squares = new Map<string, tf.Variable>();

  constructor(
    params: ParamMap,
    readonly names: string[],
    private readonly kind: 'adam' | 'diagonal',
    private readonly decay: number,
    private readonly damping: number,
  ) {
    if (kind === 'adam') this.adam = new AdamMoments(params, FALLBACK_ADAM, names);
    else for (const name of names) this.squares.set(name, zerosLike(params.get(name)!));
  }

  /** Returns the direction for `name` at step `t` (call inside tf.tidy). */
  direction(name: string, grad: tf.Tensor, t: number): tf.Tensor {
    if (this.adam !== undefined) return this.adam.direction(name, grad, t);

    const square = this.squares.get(name)!;
    const average = tf.add(tf.mul(square, this.decay), tf.mul(tf.square(grad), 1 - this.decay));
    square.assign(average);
    return tf.div(grad, tf.add(tf.sqrt(average), this.damping));
  }

  save(): NamedTensor[] {
    if (this.adam !== undefined) return this.adam.save('fallback.');
    return [...this.squares].map(([name, square]) => toNamedTensor(`fallback.square.${name}`, square));
  }

  load(byName: Map<string, NamedTensor>, kind: string): void {
    if (this.adam !== undefined) return this.adam.load(byName, 'fallback.', kind);
    for (const [name, square] of this.squares) assignEntry(square, requireEntry(byName, `fallback.square.${name}`, square.shape, kind));
  }

  dispose(): void {
    this.adam?.dispose();
    for (const square of this.squares.values()) square.dispose();
  }
}

/**
 * K-FAC with KL-clipped steps: Δ = −lr · ν · F̂⁻¹g with
 * ν = min(1, √(κ / Σ lr² ⟨F̂⁻¹g, g⟩)), optional momentum on ν F̂⁻¹g, and
 * optional Levenberg–Marquardt adaptation of the damping.
 */
export class Kfac implements Optimizer {
  readonly kind = 'kfac';
  private readonly preconditioner: KroneckerPreconditioner;
  private readonly fallback: Fallback;
  private readonly momentum: MomentumBuffers;
  private t = 0;

  constructor(
    private readonly config: KfacConfig,
    params: ParamMap,
  ) {
    this.preconditioner = new KroneckerPreconditioner(params, config);
    const fallbackNames = [...params.keys()].filter((name) => !this.preconditioner.covers(name));
    this.fallback = new Fallback(params, fallbackNames, config.fallback, config.factorDecay, config.damping);
    const covered = new Map([...params].filter(([name]) => this.preconditioner.covers(name)));
    this.momentum = new MomentumBuffers(covered, config.momentum, false);
  }

  describe(): string {
    const layers = this.preconditioner.layers.map((layer) => layer.weight).join(', ');
    const fallback = this.fallback.names.join(', ') || 'none';
    return `kfac: Kronecker factors for ${layers}; ${this.config.fallback} fallback for ${fallback}`;
  }

  step(params: ParamMap, grads: GradMap, context: StepContext): OptimizerDiagnostics {
    checkGradNames(params, grads);
    this.t += 1;
    const t = this.t;
    const lr = context.lr;

    const curvatureStarted = performance.now();
    const dampingBefore = this.preconditioner.damping;
    this.preconditioner.update(context);
    const { directions, dot } = this.preconditioner.precondition(grads);
    const curvatureMs = performance.now() - curvatureStarted;

    const quadratic = lr * lr * dot;
    const klScale = quadratic > 0 ? Math.min(1, Math.sqrt(this.config.klClip / quadratic)) : 1;
    const adapt = this.config.adaptiveDamping && t % this.config.inverseEvery === 0;
    const lossBefore = adapt ? context.lossAt(params) : NaN;

    const fallbackLr = FALLBACK_LR * (this.config.lr > 0 ? lr / this.config.lr : 0);
    let measured: { updateNorm: number; stepKl: number };
    try {
      measured = applyUpdatesMeasuringKl(params, grads, context, (name, _param, grad) => {
        if (!this.preconditioner.covers(name)) return tf.mul(this.fallback.direction(name, grad, t), -fallbackLr);
        const scaled = tf.mul(this.preconditioner.slice(name, directions), klScale);
        return tf.mul(this.momentum.direction(name, scaled), -lr);
      });
    } finally {
      tf.dispose([...directions.values()]);
    }
    const { updateNorm, stepKl } = measured;

    const diagnostics: OptimizerDiagnostics = {
      updateNorm,
      'opt.stepKl': stepKl,
      'opt.predictedKl': 0.5 * klScale * klScale * quadratic,
      'opt.klScale': klScale,
      'opt.damping': dampingBefore,
      'opt.refreshMs': this.preconditioner.refreshMs,
      'opt.curvatureMs': curvatureMs,
      // Recorded with the metrics so the run shows how many parameters the fallback (named in the config) steps.
      'opt.fallbackParameters': this.fallback.names.length,
    };
    if (adapt) diagnostics['opt.reductionRatio'] = this.adaptDamping(lossBefore, context.lossAt(params), lr * klScale, dot);
    return diagnostics;
  }

  /**
   * Levenberg–Marquardt rule: ρ = (actual loss change) / (change predicted by
   * the damped quadratic model). For Δ = −s F̂⁻¹g the model predicts
   * −s ⟨F̂⁻¹g, g⟩ + ½ s² ⟨F̂⁻¹g, g⟩. The damping shrinks by ω = (19/20)^inverseEvery
   * when ρ > 3/4 and grows by 1/ω when ρ < 1/4. Returns ρ.
   */
  private adaptDamping(lossBefore: number, lossAfter: number, stepScale: number, dot: number): number {
    const predicted = -stepScale * dot + 0.5 * stepScale * stepScale * dot;
    const ratio = predicted < 0 ? (lossAfter - lossBefore) / predicted : NaN;
    const omega = (19 / 20) ** this.config.inverseEvery;
    let damping = this.preconditioner.damping;
    if (ratio > 0.75) damping *= omega;
    else if (ratio < 0.25) damping /= omega;
    this.preconditioner.damping = Math.min(MAX_DAMPING, Math.max(MIN_DAMPING, damping));
    return ratio;
  }

  saveState(): NamedTensor[] {
    return [counterEntry('step', this.t), ...this.preconditioner.save(), ...this.momentum.save('momentum.'), ...this.fallback.save()];
  }

  loadState(state: NamedTensor[]): void {
    const byName = indexState(state, this.kind);
    this.t = readCounter(byName, 'step', this.kind);
    this.preconditioner.load(byName, this.kind);
    this.momentum.load(byName, 'momentum.', this.kind);
    this.fallback.load(byName, this.kind);
  }

  dispose(): void {
    this.preconditioner.dispose();
    this.momentum.dispose();
    this.fallback.dispose();
  }
}
