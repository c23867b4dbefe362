/**
 * The training loop of one run: batches from the data stream, the learning
 * rate from the schedule, optional global gradient-norm clipping, the
 * optimizer step, metrics every `logEvery` steps and checkpoints at the
 * run's checkpoint steps. A run resumed from a checkpoint ends with the same
 * weights, bit for bit, as an uninterrupted one on the same backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RunConfig } from '../../core/spec';
import { encodeSafetensors, decodeSafetensors } from '../../core/tensors/safetensors';
import type { CheckpointPayload, LogLevel, MetricRow, ResumeState, RunSummary } from '../protocol';
import { baseLearningRate, clipByGlobalNorm, createOptimizer, CurvatureError, globalNorm, learningRateAt } from '../optim/index';
import type { GradMap, Optimizer, OptimizerDiagnostics, ParamMap } from '../optim/optimizer';
import { disposeParameters, exportParameters, initParameters, loadParameters, type Architecture } from '../model/params';
import { crossEntropy, forward } from '../model/transformer';
import { buildTask, type Task } from '../tasks/index';
import { Rng } from '../rng';
import { createStepContext } from './context';
import { meanLoss, probeOutputs, trueKl } from './evaluate';
import { parseTrainerState, type TrainerState } from './state';

export interface TrainCallbacks {
  onMetrics(rows: MetricRow[]): void;
  onProgress(progress: { step: number; totalSteps: number; loss: number; tokensPerSecond: number }): void;
  onCheckpoint(checkpoint: CheckpointPayload): void;
  onLog(level: LogLevel, message: string): void;
  /** Polled between steps. Returning true stops the run with a `cancelled` outcome. */
  isCancelled(): boolean;
}

export type TrainOutcome =
  | { kind: 'done'; summary: RunSummary }
  | { kind: 'diverged'; step: number; value: number; message: string }
  | { kind: 'cancelled'; step: number };

export interface TrainOptions {
  resume?: ResumeState;
  /** Replacement for `createOptimizer` from worker/optim, for tests of the loop itself. */
  createOptimizer?: (config: RunConfig['optimizer'], params: ParamMap) => Optimizer;
}

/** Trains one run on the active tfjs backend. The caller selects the backend first. */
export async function train(config: RunConfig, callbacks: TrainCallbacks, options: TrainOptions = {}): Promise<TrainOutcome> {
  const task = buildTask(config.task, config.model, { probeSize: config.probeSize, validationSize: config.training.validationSize });
  const arch: Architecture = { ...config.model, vocabSize: task.vocabSize };
  const params = initParameters(arch, config.initSeed);
  let optimizer: Optimizer | undefined;
  try {
    optimizer = (options.createOptimizer ?? createOptimizer)(config.optimizer, params);
    const description = optimizer.describe?.();
    if (description !== undefined) callbacks.onLog('info', description);
    const run = new RunLoop(config, task, arch, params, optimizer, callbacks);
    if (options.resume !== undefined) run.restore(options.resume);
    return await run.execute();
  } finally {
    optimizer?.dispose();
    disposeParameters(params);
  }
}

/** Running sums over the steps since the last log step. */
interface Interval {
  steps: number;
  lossSum: number;
  stepMsSum: number;
  startedAt: number;
}

class RunLoop {
  private readonly dataRng: Rng;
  private readonly labelRng: Rng;
  private readonly checkpointSteps: Set<number>;
  private readonly startedAt = performance.now();
  private nextStep = 1;
  private lastTrainLoss = Number.NaN;
  private lastValidationLoss = Number.NaN;
  private lastTrueKl: number | undefined;
  private interval: Interval = { steps: 0, lossSum: 0, stepMsSum: 0, startedAt: performance.now() };

  constructor(
    private readonly config: RunConfig,
    private readonly task: Task,
    private readonly arch: Architecture,
    private readonly params: ParamMap,
    private readonly optimizer: Optimizer,
    private readonly callbacks: TrainCallbacks,
  ) {
    // Batch order comes from dataSeed. Labels sampled for the true Fisher
    // come from a second stream of the same seed.
    this.dataRng = Rng.fromSeed(config.dataSeed, 'data.order');
    this.labelRng = Rng.fromSeed(config.dataSeed, 'fisher.labels');
    this.checkpointSteps = new Set(config.checkpointSteps);
  }

  restore(resume: ResumeState): void {
    const state = parseTrainerState(resume.trainerState);
    if (state.step !== resume.step) {
      throw new Error(`invalid resume state: checkpoint step ${resume.step} but trainer state step ${state.step}; resume from a checkpoint whose blobs were saved together`);
    }
    if (resume.step >= this.config.training.steps) {
      throw new Error(`cannot resume at step ${resume.step}: the run has only ${this.config.training.steps} steps`);
    }

    loadParameters(this.params, decodeSafetensors(resume.weights).tensors);
    this.optimizer.loadState(decodeSafetensors(resume.optimizerState).tensors);
    this.dataRng.restore(state.dataRng);
    this.labelRng.restore(state.labelRng);
    this.nextStep = resume.step + 1;
    this.callbacks.onLog('info', `resumed step=${resume.step}`);
  }

  async execute(): Promise<TrainOutcome> {
    const totalSteps = this.config.training.steps;
    for (let step = this.nextStep; step <= totalSteps; step += 1) {
      // Yielding lets a cancel message from the parent arrive between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.callbacks.isCancelled()) return { kind: 'cancelled', step: step - 1 };

      const outcome = this.trainStep(step);
      if (outcome !== undefined) return outcome;
    }

    const summary: RunSummary = {
      steps: totalSteps,
      finalTrainLoss: this.lastTrainLoss,
      finalValidationLoss: this.lastValidationLoss,
      wallSeconds: (performance.now() - this.startedAt) / 1000,
    };
    if (this.lastTrueKl !== undefined) summary.finalTrueKl = this.lastTrueKl;
    return { kind: 'done', summary };
  }

  /** Takes one optimizer step. Returns an outcome only when the run ends early. */
  private trainStep(step: number): TrainOutcome | undefined {
    const { training } = this.config;
    const isLogStep = step % training.logEvery === 0 || step === training.steps;
    const began = performance.now();
    const lr = learningRateAt(training.schedule, baseLearningRate(this.config.optimizer), step, training.steps);

    const batch = this.task.sampleTrainBatch(this.dataRng, training.batchSize);
    const inputs = tf.tensor2d(batch.inputs, [batch.size, batch.seq], 'int32');
    const targets = tf.tensor2d(batch.targets, [batch.size, batch.seq], 'int32');
    let grads: GradMap = new Map();
    let previous: tf.Tensor[] = [];
    try {
      const { loss, gradients } = this.lossAndGradients(inputs, targets);
      grads = gradients;
      if (!Number.isFinite(loss)) return this.diverged(step, loss, `training loss is ${loss} at step ${step}`);

      let gradNorm: number | undefined;
      if (training.gradClip !== undefined) {
        const clipped = clipByGlobalNorm(grads, training.gradClip);
        disposeAll(grads.values());
        grads = clipped.grads;
        gradNorm = clipped.norm;
      } else if (isLogStep) {
        gradNorm = globalNorm(grads);
      }

      if (isLogStep) previous = [...this.params.values()].map((variable) => tf.clone(variable));
      const result = this.optimizerStep(step, lr, inputs, targets, grads);
      if ('outcome' in result) return result.outcome;
      const { diagnostics } = result;

      this.interval.steps += 1;
      this.interval.lossSum += loss;
      this.interval.stepMsSum += performance.now() - began;
      this.lastTrainLoss = loss;

      if (isLogStep) {
        const outcome = this.logStep(step, lr, gradNorm ?? Number.NaN, updateNorm(this.params, previous), diagnostics);
        if (outcome !== undefined) return outcome;
      }
      if (this.checkpointSteps.has(step)) this.checkpoint(step);
      return undefined;
    } finally {
      disposeAll(grads.values());
      disposeAll(previous);
      inputs.dispose();
      targets.dispose();
    }
  }

  private lossAndGradients(inputs: tf.Tensor2D, targets: tf.Tensor2D): { loss: number; gradients: GradMap } {
    const names = [...this.params.keys()];
    const variables = [...this.params.values()];
    const flatTargets = tf.reshape(targets, [-1]) as tf.Tensor1D;
    try {
      const { value, grads } = tf.valueAndGrads(() => crossEntropy(forward(this.params, this.arch, inputs), flatTargets))(variables);
      const loss = value.dataSync()[0];
      value.dispose();
      return { loss, gradients: new Map(names.map((name, i) => [name, grads[i]])) };
    } finally {
      flatTargets.dispose();
    }
  }

  private optimizerStep(
    step: number,
    lr: number,
    inputs: tf.Tensor2D,
    targets: tf.Tensor2D,
    grads: GradMap,
  ): { diagnostics: OptimizerDiagnostics } | { outcome: TrainOutcome } {
    const context = createStepContext({ arch: this.arch, params: this.params, step, lr, batch: { inputs, targets }, labelRng: this.labelRng });
    try {
      return { diagnostics: this.optimizer.step(this.params, grads, context) };
    } catch (error) {
      if (error instanceof CurvatureError) {
        return { outcome: this.diverged(step, Number.NaN, `optimizer ${this.optimizer.kind} failed at step ${step}: ${error.message}`) };
      }
      throw error;
    } finally {
      context.dispose();
    }
  }

  private logStep(step: number, lr: number, gradNorm: number, updateNormValue: number, diagnostics: OptimizerDiagnostics): TrainOutcome | undefined {
    const { training } = this.config;
    const validationLoss = meanLoss(this.params, this.arch, this.task.validation, training.batchSize);
    this.lastValidationLoss = validationLoss;
    if (!Number.isFinite(validationLoss)) return this.diverged(step, validationLoss, `validation loss is ${validationLoss} at step ${step}`);

    const interval = this.interval;
    const trainLoss = interval.lossSum / interval.steps;
    // The summary reports the same interval mean as the trainLoss metric, not the last batch's loss.
    this.lastTrainLoss = trainLoss;
    const wallSeconds = (performance.now() - interval.startedAt) / 1000;
    const tokensPerSecond = (interval.steps * training.batchSize * this.task.sequenceLength) / wallSeconds;
    const stepMs = interval.stepMsSum / interval.steps;
    this.interval = { steps: 0, lossSum: 0, stepMsSum: 0, startedAt: performance.now() };

    const values: Record<string, number> = { trainLoss, validationLoss, gradNorm, updateNorm: updateNormValue, lr, tokensPerSecond, stepMs };
    // The loop measures updateNorm itself, the same way for every optimizer.
    for (const [name, value] of Object.entries(diagnostics)) {
      if (name !== 'updateNorm') values[name.startsWith('opt.') ? name : `opt.${name}`] = value;
    }
    this.callbacks.onMetrics(Object.entries(values).map(([name, value]) => ({ step, name, value })));
    this.callbacks.onProgress({ step, totalSteps: training.steps, loss: trainLoss, tokensPerSecond });
    this.callbacks.onLog(
      'info',
      `step=${step} loss=${trainLoss.toFixed(4)} val=${validationLoss.toFixed(4)} lr=${lr.toPrecision(3)} ms=${stepMs.toFixed(1)} tok/s=${tokensPerSecond.toFixed(0)}`,
    );
    return undefined;
  }

  private checkpoint(step: number): void {
    const { training } = this.config;
    const probe = probeOutputs(this.params, this.arch, this.task.probe, training.batchSize);
    const shape = [this.task.probe.size, this.task.probe.seq, this.arch.vocabSize];
    const activationRows = this.task.probe.size * this.task.probe.seq;

    if (this.task.probeTrueLogProbs !== undefined) {
      this.lastTrueKl = trueKl(this.task.probeTrueLogProbs, probe.logProbs, this.task.probe, this.arch.vocabSize);
      this.callbacks.onMetrics([{ step, name: 'trueKl', value: this.lastTrueKl }]);
    }

    const trainerState: TrainerState = { version: 1, step, dataRng: this.dataRng.state(), labelRng: this.labelRng.state() };
    this.callbacks.onCheckpoint({
      step,
      weights: encodeSafetensors(exportParameters(this.params)),
      optimizerState: encodeSafetensors(this.optimizer.saveState()),
      trainerState,
      probeLogProbs: encodeSafetensors([{ name: 'logProbs', dtype: 'F32', shape, data: probe.logProbs }]),
      probeActivations: encodeSafetensors(
        probe.residuals.map((data, layer) => ({ name: `resid.${layer}`, dtype: 'F32', shape: [activationRows, this.arch.dModel], data })),
      ),
    });
    this.callbacks.onLog('info', `checkpoint step=${step}`);
  }

  private diverged(step: number, value: number, message: string): TrainOutcome {
    this.callbacks.onLog('warn', `diverged step=${step} value=${value}: ${message}`);
    return { kind: 'diverged', step, value, message };
  }
}

/** L2 norm of the change of all parameters, summed in float32 on the backend. */
function updateNorm(params: ParamMap, previous: tf.Tensor[]): number {
  if (previous.length === 0) return Number.NaN;
  const squared = tf.tidy(() => tf.addN([...params.values()].map((variable, i) => tf.sum(tf.square(tf.sub(variable, previous[i]))))));
  const value = squared.dataSync()[0];
  squared.dispose();
  return Math.sqrt(value);
}

function disposeAll(tensors: Iterable<tf.Tensor>): void {
  for (const tensor of tensors) tensor.dispose();
}

