/**
 * Builders of real checkpoints for analysis tests: a tiny transformer from
 * worker/model, initialised from a seed, with its probe log-probabilities and
 * residual activations computed by the real forward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { AnalysisRunInput } from '../../../core/analysis/job';
import type { ParameterMap } from '../../../core/analysis/parameters';
import { expandSweep, parseSweepSpec, type RunConfig } from '../../../core/spec';
import { encodeSafetensors, type NamedTensor } from '../../../core/tensors/safetensors';
import { disposeParameters, exportParameters, initParameters, type Architecture } from '../../../worker/model/params';
import { forward } from '../../../worker/model/transformer';
import type { ParamMap } from '../../../worker/optim/optimizer';
import { buildTask, type Task } from '../../../worker/tasks';

/** Builds the run config of a small markov sweep: V 8, T 6, d 8, 2 heads, 1 layer, MLP 12, 3 probe sequences. */
export function tinyConfig(): RunConfig {
  const parsed = parseSweepSpec({
    name: 'analysis fixture',
    task: { kind: 'markov', vocabSize: 8, order: 1, concentration: 0.5, taskSeed: 3 },
    model: { contextLength: 6, dModel: 8, nHeads: 2, nLayers: 1, dMlp: 12, initStd: 0.5 },
    training: { steps: 4, validationSize: 4 },
    optimizers: [{ kind: 'sgd' }],
    seeds: { count: 1 },
    checkpoints: { steps: [2, 4] },
    probeSize: 3,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return expandSweep(parsed.spec)[0]!;
}

export function taskOf(config: RunConfig): Task {
  return buildTask(config.task, config.model, { probeSize: config.probeSize, validationSize: config.training.validationSize });
}

export function architectureOf(config: RunConfig): Architecture {
  return { ...config.model, vocabSize: taskOf(config).vocabSize };
}

/** Parameters of a freshly initialised model, as plain arrays. */
export function initialParameters(config: RunConfig, initSeed: number): ParameterMap {
  const variables = initParameters(architectureOf(config), initSeed);
  const tensors = exportParameters(variables);
  disposeParameters(variables);
  return new Map(tensors.map((tensor) => [tensor.name, { shape: tensor.shape, data: Float32Array.from(tensor.data) }]));
}

/** Encodes a checkpoint's blobs for the given parameters, with probe outputs from the real forward pass. */
export function checkpointOf(config: RunConfig, runId: number, parameters: ParameterMap, withActivations = true): AnalysisRunInput {
  const task = taskOf(config);
  const arch = architectureOf(config);
  const variables: ParamMap = new Map([...parameters].map(([name, tensor]) => [name, tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(tensor.data), tensor.shape, 'float32')))]));
  const residuals: tf.Tensor2D[] = [];
  const logProbs = tf.tidy(() => {
    const logits = forward(variables, arch, tf.tensor2d(task.probe.inputs, [task.probe.size, task.probe.seq], 'int32'), { residuals });
    return tf.logSoftmax(logits).dataSync() as Float32Array;
  });
  const activations: NamedTensor[] = residuals.map((tensor, layer) => ({ name: `resid.${layer}`, dtype: 'F32', shape: tensor.shape.slice(), data: tensor.dataSync() as Float32Array }));
  residuals.forEach((tensor) => tensor.dispose());
  disposeParameters(variables);

  const weights: NamedTensor[] = [...parameters].map(([name, tensor]) => ({ name, dtype: 'F32', shape: tensor.shape, data: Float32Array.from(tensor.data) }));
  return {
    runId,
    weights: encodeSafetensors(weights),
    probeLogProbs: encodeSafetensors([{ name: 'logProbs', dtype: 'F32', shape: [task.probe.size, task.probe.seq, task.vocabSize], data: logProbs }]),
    probeActivations: withActivations ? encodeSafetensors(activations) : null,
  };
}
