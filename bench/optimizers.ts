/**
 * Optimizer overhead benchmark: `npx tsx bench/optimizers.ts [--backend wasm] [--steps 10]`.
 *
 * Trains the default model (markov V=64, T=32, d=64, 4 heads, 2 layers,
 * MLP 256, batch 32) with each optimizer at its default settings for one
 * warm-up step and then `--steps` timed steps, and prints one JSON line per
 * optimizer: wall time per step (gradients plus optimizer step), the
 * optimizer's share, the ratio to Adam, and the mean of each diagnostic.
 * Ten timed steps after one warm-up step include exactly one K-FAC inverse
 * refresh and one Shampoo root refresh at their default interval of 10, so
 * the mean carries their amortised cost.
 *
 * Timings depend on what else runs on the machine, so the output records the
 * CPU model and the load average at the start.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { modelSchema, optimizerSchema, taskSchema, type OptimizerConfig } from '../core/spec';
import { selectBackend, type ConcreteBackend } from '../worker/backend';
import { disposeParameters, initParameters, type Architecture } from '../worker/model/params';
import { crossEntropy, forward } from '../worker/model/transformer';
import { baseLearningRate, createOptimizer } from '../worker/optim/index';
import { buildTask, type Task } from '../worker/tasks/index';
import { Rng } from '../worker/rng';
import { createStepContext } from '../worker/train/context';

const BATCH_SIZE = 32;

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

interface Timing {
  optimizer: string;
  msPerStep: number;
  optimizerMsPerStep: number;
  finalLoss: number;
  diagnostics: Record<string, number>;
}

function timeOptimizer(config: OptimizerConfig, task: Task, arch: Architecture, steps: number): Timing {
  const params = initParameters(arch, 0);
  const optimizer = createOptimizer(config, params);
  const dataRng = Rng.fromSeed(0, 'data.order');
  const labelRng = Rng.fromSeed(0, 'labels');
  const names = [...params.keys()];
  let totalMs = 0;
  let optimizerMs = 0;
  let finalLoss = Number.NaN;
  const sums: Record<string, number> = {};

  for (let step = 1; step <= steps + 1; step += 1) {
    const batch = task.sampleTrainBatch(dataRng, BATCH_SIZE);
    const inputs = tf.tensor2d(batch.inputs, [BATCH_SIZE, batch.seq], 'int32');
    const targets = tf.tensor2d(batch.targets, [BATCH_SIZE, batch.seq], 'int32');
    const flat = tf.reshape(targets, [-1]) as tf.Tensor1D;

    const began = performance.now();
    const { value, grads } = tf.valueAndGrads(() => crossEntropy(forward(params, arch, inputs), flat))([...params.values()]);
    finalLoss = value.dataSync()[0];
    const context = createStepContext({ arch, params, step, lr: baseLearningRate(config), batch: { inputs, targets }, labelRng });
    const stepBegan = performance.now();
    const diagnostics = optimizer.step(params, new Map(names.map((name, i) => [name, grads[i]])), context);
    const ended = performance.now();
    context.dispose();
    tf.dispose([value, ...grads, inputs, targets, flat]);

    if (step === 1) continue;
    totalMs += ended - began;
    optimizerMs += ended - stepBegan;
    for (const [name, number] of Object.entries(diagnostics)) sums[name] = (sums[name] ?? 0) + number;
  }

  optimizer.dispose();
  disposeParameters(params);
  const diagnostics = Object.fromEntries(Object.entries(sums).map(([name, sum]) => [name, sum / steps]));
  return { optimizer: config.kind, msPerStep: totalMs / steps, optimizerMsPerStep: optimizerMs / steps, finalLoss, diagnostics };
}

async function main(): Promise<void> {
  const backend = option('backend', 'wasm') as ConcreteBackend;
  const steps = Number(option('steps', '10'));
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer; received ${option('steps', '10')}`);
  const choice = await selectBackend(backend);
  if (choice.backend !== backend) throw new Error(`backend ${backend} is unavailable: ${choice.note}`);

  const model = modelSchema.parse({});
  const task = buildTask(taskSchema.parse({ kind: 'markov' }), model, { probeSize: 1, validationSize: 1 });
  const arch: Architecture = { ...model, vocabSize: task.vocabSize };
  console.log(
    JSON.stringify({ machine: os.cpus()[0]?.model, cores: os.cpus().length, loadAverage: os.loadavg(), node: process.version, backend, steps }),
  );

  let adamMs = Number.NaN;
  for (const kind of ['adam', 'sgd', 'adamw', 'kfac', 'shampoo', 'trust-region']) {
    const timing = timeOptimizer(optimizerSchema.parse({ kind }), task, arch, steps);
    if (kind === 'adam') adamMs = timing.msPerStep;
    console.log(JSON.stringify({ ...timing, ratioToAdam: timing.msPerStep / adamMs }));
  }
}

await main();
