/**
 * Training-speed benchmark: `npm run bench:train [-- --steps N --cpu-steps N --rounds N]`.
 *
 * Trains the default model (markov V=64, T=32, d=64, 4 heads, 2 layers,
 * MLP 256, batch 32, Adam) through the real training loop on each backend
 * that loads, each in its own process, and prints one JSON object with
 * ms/step, tokens/s and the share of step time spent in matmul kernels. When
 * /usr/bin/python3 can import torch, it also times bench/reference_train.py
 * (PyTorch, one thread), alternating with wasm for `--rounds` rounds, and
 * prints the median of the per-round ratios ours/PyTorch. Finally it runs two wasm
 * workers side by side and prints the sweep throughput relative to one.
 *
 * Timings depend on what else runs on the machine, so the output records the
 * CPU model and the load average at the start.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { modelSchema, optimizerSchema, taskSchema, trainingSchema, type RunConfig } from '../core/spec';
import { selectBackend, type ConcreteBackend } from '../worker/backend';
import { createOptimizer } from '../worker/optim/index';
import { disposeParameters, initParameters, type Architecture } from '../worker/model/params';
import { crossEntropy, forward } from '../worker/model/transformer';
import { buildTask } from '../worker/tasks/index';
import { Rng } from '../worker/rng';
import { createStepContext } from '../worker/train/context';
import { train } from '../worker/train/trainer';

const benchFolder = path.dirname(fileURLToPath(import.meta.url));
const WARMUP_STEPS = 5;

interface SkippedBackend {
  backend: string;
  skipped: string;
}

interface BackendResult {
  backend: string;
  steps: number;
  msPerStep: number;
  tokensPerSecond: number;
  matmulShare: number;
  finalLoss: number;
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; received ${process.argv[index + 1]}`);
  return value;
}

function defaultRun(steps: number): RunConfig {
  const training = trainingSchema.parse({ steps: WARMUP_STEPS + steps, batchSize: 32, logEvery: WARMUP_STEPS, validationSize: 32 });
  return {
    task: taskSchema.parse({ kind: 'markov', vocabSize: 64 }),
    model: modelSchema.parse({}),
    training,
    optimizer: optimizerSchema.parse({ kind: 'adam' }),
    optimizerLabel: 'adam',
    initSeed: 0,
    dataSeed: 0,
    checkpointSteps: [training.steps],
    probeSize: 64,
    backend: 'wasm',
    gridPoint: {},
  };
}

/** Times `steps` steps after WARMUP_STEPS through the real training loop on the active backend. */
async function timeTraining(steps: number): Promise<{ msPerStep: number; finalLoss: number }> {
  const config = defaultRun(steps);
  const stepMs: number[] = [];
  const losses: number[] = [];
  const outcome = await train(config, {
    onMetrics: (rows) => {
      for (const row of rows) {
        if (row.name === 'stepMs' && row.step > WARMUP_STEPS) stepMs.push(row.value);
        if (row.name === 'trainLoss') losses.push(row.value);
      }
    },
    onProgress: () => undefined,
    onCheckpoint: () => undefined,
    onLog: () => undefined,
    isCancelled: () => false,
  });
  if (outcome.kind !== 'done') throw new Error(`benchmark run ended ${outcome.kind}`);

  // Each stepMs value is the mean over WARMUP_STEPS steps (one log interval).
  return { msPerStep: stepMs.reduce((sum, value) => sum + value, 0) / stepMs.length, finalLoss: losses.at(-1) ?? Number.NaN };
}

/** Profiles one training step (forward, backward, Adam) and returns the share of its wall time in matmul kernels. */
async function matmulShare(): Promise<number> {
  const config = defaultRun(1);
  const task = buildTask(config.task, config.model, { probeSize: 1, validationSize: 1 });
  const arch: Architecture = { ...config.model, vocabSize: task.vocabSize };
  const params = initParameters(arch, 0);
  const optimizer = createOptimizer(config.optimizer, params);
  const rng = Rng.fromSeed(0, 'data.order');

  const step = () => {
    const batch = task.sampleTrainBatch(rng, 32);
    const inputs = tf.tensor2d(batch.inputs, [32, batch.seq], 'int32');
    const targets = tf.tensor2d(batch.targets, [32, batch.seq], 'int32');
    const flat = tf.reshape(targets, [-1]) as tf.Tensor1D;
    const { value, grads } = tf.valueAndGrads(() => crossEntropy(forward(params, arch, inputs), flat))([...params.values()]);
    value.dataSync();
    const context = createStepContext({ arch, params, step: 1, lr: 3e-3, batch: { inputs, targets }, labelRng: rng });
    optimizer.step(params, new Map([...params.keys()].map((name, i) => [name, grads[i]])), context);
    context.dispose();
    tf.dispose([value, ...grads, inputs, targets, flat]);
  };

  for (let i = 0; i < 3; i += 1) step();
  const began = performance.now();
  const profile = await tf.profile(() => {
    step();
    return [];
  });
  const wallMs = performance.now() - began;
  const matmulMs = profile.kernels.filter((kernel) => kernel.name === 'BatchMatMul' || kernel.name === '_FusedMatMul').reduce((sum, kernel) => sum + Number(kernel.kernelTimeMs), 0);

  optimizer.dispose();
  disposeParameters(params);
  return matmulMs / wallMs;
}

/** Child mode: measure one backend and print one JSON line. */
async function runChild(backend: ConcreteBackend, steps: number): Promise<void> {
  const choice = await selectBackend(backend);
  if (choice.backend !== backend) {
    console.log(JSON.stringify({ backend, skipped: choice.note }));
    return;
  }
  const { msPerStep, finalLoss } = await timeTraining(steps);
  const result: BackendResult = {
    backend,
    steps,
    msPerStep,
    tokensPerSecond: (32 * 32 * 1000) / msPerStep,
    matmulShare: await matmulShare(),
    finalLoss,
  };
  console.log(JSON.stringify(result));
}

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function childArguments(backend: ConcreteBackend, steps: number): string[] {
  return ['--import', tsxLoader, path.join(benchFolder, 'train.ts'), '--child', backend, '--steps', String(steps)];
}

/** Runs child processes at the same time and returns their parsed results. */
function runChildren(runs: Array<{ backend: ConcreteBackend; steps: number }>): Promise<Array<BackendResult | SkippedBackend>> {
  return Promise.all(
    runs.map(
      ({ backend, steps }) =>
        new Promise<BackendResult | SkippedBackend>((resolve, reject) => {
          const child = spawn(process.execPath, childArguments(backend, steps), { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (chunk) => (stdout += String(chunk)));
          child.stderr.on('data', (chunk) => (stderr += String(chunk)));
          child.on('error', reject);
          child.on('exit', (code) => {
            const line = stdout.trim().split('\n').filter((text) => text.startsWith('{')).at(-1);
            if (code !== 0 || line === undefined) reject(new Error(`benchmark child for ${backend} exited with code ${code}: ${stderr.trim().split('\n').at(-1)}`));
            else resolve(JSON.parse(line) as BackendResult | SkippedBackend);
          });
        }),
    ),
  );
}

function pytorchReference(steps: number): { msPerStep: number; tokensPerSecond: number; backend: string } | { skipped: string } {
  const python = '/usr/bin/python3';
  if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return { skipped: `${python} cannot import torch` };
  const output = execFileSync(python, [path.join(benchFolder, 'reference_train.py'), 'time', '--steps', String(steps), '--warmup', String(WARMUP_STEPS)], { encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').at(-1) as string);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Returns the item whose key is the median (the lower middle one for an even count). */
function medianBy<T>(items: T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  const childIndex = process.argv.indexOf('--child');
  const steps = argument('--steps', 30);
  if (childIndex !== -1) {
    await runChild(process.argv[childIndex + 1] as ConcreteBackend, steps);
    return;
  }

  const cpuSteps = argument('--cpu-steps', 5);
  const rounds = argument('--rounds', 3);
  const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))), node: process.version };

  const backends: Array<BackendResult | SkippedBackend> = [];
  for (const [backend, count] of [['tensorflow-gpu', steps], ['tensorflow', steps], ['cpu', cpuSteps]] as Array<[ConcreteBackend, number]>) {
    backends.push(...(await runChildren([{ backend, steps: count }])));
  }

  // wasm and PyTorch alternate, so both see the same changes in machine load,
  // and the ratio is taken per round.
  const wasmRounds: BackendResult[] = [];
  const pytorchRounds: ReturnType<typeof pytorchReference>[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const [wasmResult] = await runChildren([{ backend: 'wasm', steps }]);
    if (wasmResult !== undefined && 'msPerStep' in wasmResult) wasmRounds.push(wasmResult);
    pytorchRounds.push(pytorchReference(steps));
  }
  const wasm = wasmRounds.length > 0 ? { ...medianBy(wasmRounds, (result) => result.msPerStep), rounds: wasmRounds.map((result) => result.msPerStep) } : undefined;
  if (wasm !== undefined) backends.push(wasm);

  const pytorchTimed = pytorchRounds.filter((result): result is Exclude<typeof result, { skipped: string }> => 'msPerStep' in result);
  const pytorch = pytorchTimed.length > 0 ? { ...medianBy(pytorchTimed, (result) => result.msPerStep), rounds: pytorchTimed.map((result) => result.msPerStep) } : pytorchRounds[0];
  const roundRatios = pytorchTimed.length === wasmRounds.length ? wasmRounds.map((result, i) => pytorchTimed[i]!.msPerStep / result.msPerStep) : [];
  const ratio = roundRatios.length > 0 ? median(roundRatios) : undefined;

  // Two wasm workers at once, as a sweep with concurrency 2 runs them,
  // against one worker measured just before.
  const [alone] = (await runChildren([{ backend: 'wasm', steps }])).filter((result): result is BackendResult => 'msPerStep' in result);
  const pair = (await runChildren([{ backend: 'wasm', steps }, { backend: 'wasm', steps }])).filter((result): result is BackendResult => 'msPerStep' in result);
  const pairTokensPerSecond = pair.reduce((sum, result) => sum + result.tokensPerSecond, 0);

  console.log(
    JSON.stringify(
      {
        command: `npm run bench:train -- --steps ${steps} --cpu-steps ${cpuSteps} --rounds ${rounds}`,
        model: 'markov V=64, T=32, d=64, 4 heads, 2 layers, MLP 256, batch 32, Adam',
        machine: { ...machine, loadAverageAtEnd: os.loadavg().map((load) => Number(load.toFixed(2))) },
        backends,
        pytorch,
        oursOverPytorch: ratio,
        oursOverPytorchPerRound: roundRatios,
        twoWorkers: {
          tokensPerSecondAlone: alone?.tokensPerSecond,
          tokensPerSecondEach: pair.map((result) => result.tokensPerSecond),
          throughputRelativeToOne: alone === undefined ? undefined : pairTokensPerSecond / alone.tokensPerSecond,
        },
      },
      null,
      2,
    ),
  );
}

await main();
