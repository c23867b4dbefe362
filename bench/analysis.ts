/**
 * Analysis speed. It times every function-space pair metric for 64 runs on
 * the default probe set (64 sequences × 32 positions × 64 vocab), and every
 * weight-space metric with permutation alignment for runs of the default
 * model. The NumPy/SciPy reference (bench/reference_analysis.py) runs on the
 * same data in the same command.
 *
 * Usage: npm run bench:analysis [-- --runs 64 --weight-runs 6]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alignParameters, applyPermutation, type TransformerPermutation } from '../core/analysis/alignment';
import { compareDistributions, ensembleMean, klPerPosition, mean, prepareDistribution, type FunctionMetric } from '../core/analysis/function-space';
import { parameterNames, parameterShape, type ParameterMap, type TransformerLayout } from '../core/analysis/parameters';
import { weightDistances } from '../core/analysis/weight-space';

const PROBE_SEQUENCES = 64;
const CONTEXT_LENGTH = 32;
const VOCAB = 64;
const LAYOUT: TransformerLayout = { vocab: 64, contextLength: 32, dModel: 64, nHeads: 4, dHead: 16, nLayers: 2, dMlp: 256, tiedEmbeddings: false };

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

/** Mulberry32 followed by Box–Muller: deterministic normal samples. */
function normalGenerator(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-12))) * Math.cos(2 * Math.PI * uniform());
}

/** Logits of runs near a shared base, like seeds of one sweep: [runs, positions, vocab]. */
function makeLogits(runs: number): Float32Array {
  const positions = PROBE_SEQUENCES * CONTEXT_LENGTH;
  const normal = normalGenerator(1);
  const base = Float32Array.from({ length: positions * VOCAB }, () => 2 * normal());
  const logits = new Float32Array(runs * base.length);
  for (let run = 0; run < runs; run += 1) {
    for (let k = 0; k < base.length; k += 1) logits[run * base.length + k] = base[k]! + 0.5 * normal();
  }
  return logits;
}

function randomPermutation(normal: () => number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => [normal(), i] as const)
    .sort((x, y) => x[0] - y[0])
    .map(([, i]) => i);
}

/** Runs that are permuted copies of one model plus independent noise, so alignment has a known optimum to find. */
function makeModels(runs: number): ParameterMap[] {
  const normal = normalGenerator(2);
  const base: ParameterMap = new Map(
    parameterNames(LAYOUT).map((name) => {
      const shape = parameterShape(name, LAYOUT);
      const size = shape.reduce((product, value) => product * value, 1);
      return [name, { shape, data: Float32Array.from({ length: size }, () => 0.02 * normal()) }];
    }),
  );

  return Array.from({ length: runs }, () => {
    const permutation: TransformerPermutation = {
      residual: randomPermutation(normal, LAYOUT.dModel),
      blocks: Array.from({ length: LAYOUT.nLayers }, () => ({
        mlp: randomPermutation(normal, LAYOUT.dMlp),
        heads: randomPermutation(normal, LAYOUT.nHeads),
        queryKey: Array.from({ length: LAYOUT.nHeads }, () => randomPermutation(normal, LAYOUT.dHead)),
        valueOutput: Array.from({ length: LAYOUT.nHeads }, () => randomPermutation(normal, LAYOUT.dHead)),
      })),
    };
    const permuted = applyPermutation(base, permutation, LAYOUT);
    for (const tensor of permuted.values()) {
      for (let i = 0; i < tensor.data.length; i += 1) tensor.data[i] += 0.01 * normal();
    }
    return permuted;
  });
}

function timeFunctionSpace(logits: Float32Array, runs: number) {
  const perRun = logits.length / runs;
  const start = performance.now();
  const distributions = Array.from({ length: runs }, (_, run) => prepareDistribution(logits.subarray(run * perRun, (run + 1) * perRun), VOCAB));
  let firstPair: Record<FunctionMetric, number> | null = null;
  let jensenShannonSum = 0;
  for (let i = 0; i < runs; i += 1) {
    for (let j = i + 1; j < runs; j += 1) {
      const metrics = compareDistributions(distributions[i]!, distributions[j]!);
      firstPair ??= metrics;
      jensenShannonSum += metrics.jensenShannon;
    }
  }
  const ensemble = ensembleMean(distributions);
  const ensembleKlSum = distributions.reduce((sum, distribution) => sum + mean(klPerPosition(distribution, ensemble)), 0);
  return { seconds: (performance.now() - start) / 1000, firstPair: firstPair!, jensenShannonSum, ensembleKlSum };
}

function timeWeightSpace(models: ParameterMap[]) {
  const start = performance.now();
  const l2: number[] = [];
  const alignedL2: number[] = [];
  for (let i = 0; i < models.length; i += 1) {
    for (let j = i + 1; j < models.length; j += 1) {
      l2.push(weightDistances(models[i]!, models[j]!).model.l2);
      const { aligned } = alignParameters(models[i]!, models[j]!, LAYOUT);
      alignedL2.push(weightDistances(models[i]!, aligned).model.l2);
    }
  }
  return { seconds: (performance.now() - start) / 1000, l2, alignedL2 };
}

function maxRelativeDifference(a: number[], b: number[]): number {
  return Math.max(...a.map((value, i) => Math.abs(value - b[i]!) / Math.max(Math.abs(b[i]!), 1e-12)));
}

function main(): void {
  const runs = option('runs', 64);
  const weightRuns = option('weight-runs', 6);
  const pairs = (runs * (runs - 1)) / 2;
  const weightPairs = (weightRuns * (weightRuns - 1)) / 2;
  const positions = PROBE_SEQUENCES * CONTEXT_LENGTH;

  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'seedscope-bench-'));
  try {
    const logits = makeLogits(runs);
    const models = makeModels(weightRuns);
    const names = parameterNames(LAYOUT);
    const logitsFile = path.join(folder, 'logits.f32');
    const weightsFile = path.join(folder, 'weights.f32');
    fs.writeFileSync(logitsFile, Buffer.from(logits.buffer));
    const flatWeights = models.flatMap((model) => names.flatMap((name) => Array.from(model.get(name)!.data)));
    fs.writeFileSync(weightsFile, Buffer.from(Float32Array.from(flatWeights).buffer));
    const configFile = path.join(folder, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({ logitsFile, weightsFile, runs, weightRuns, vocab: VOCAB, names, shapes: names.map((name) => parameterShape(name, LAYOUT)), layout: LAYOUT }),
    );

    const functionResult = timeFunctionSpace(logits, runs);
    const weightResult = timeWeightSpace(models);
    const reference = JSON.parse(
      execFileSync('/usr/bin/python3', [path.join('bench', 'reference_analysis.py'), configFile], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } }),
    ) as { functionSeconds: number; weightSeconds: number; firstPair: Record<string, number>; jensenShannonSum: number; ensembleKlSum: number; l2: number[]; alignedL2: number[]; numpy: string };

    const firstPairDifference = Math.max(
      ...Object.entries(reference.firstPair).map(([name, value]) => Math.abs(functionResult.firstPair[name as FunctionMetric] - value)),
    );
    console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, Node ${process.version}, NumPy ${reference.numpy}, load average ${os.loadavg()[0]!.toFixed(2)}`);
    console.log(`command: npm run bench:analysis -- --runs ${runs} --weight-runs ${weightRuns}`);
    console.log(`function space: ${runs} runs, ${pairs} pairs, ${positions} positions × ${VOCAB} vocab, 8 metrics + KL to the ensemble mean`);
    console.log(
      `  typescript ${functionResult.seconds.toFixed(2)} s (${(pairs / functionResult.seconds).toFixed(0)} pairs/s)` +
        `  numpy ${reference.functionSeconds.toFixed(2)} s (${(pairs / reference.functionSeconds).toFixed(0)} pairs/s)` +
        `  ratio ${(functionResult.seconds / reference.functionSeconds).toFixed(2)}`,
    );
    console.log(
      `  agreement: first pair max |Δ| ${firstPairDifference.toExponential(1)}, JS sum rel Δ ${maxRelativeDifference([functionResult.jensenShannonSum], [reference.jensenShannonSum]).toExponential(1)}, ensemble KL sum rel Δ ${maxRelativeDifference([functionResult.ensembleKlSum], [reference.ensembleKlSum]).toExponential(1)}`,
    );
    console.log(`weight space: ${weightRuns} runs of the default model (${flatWeights.length / weightRuns} parameters), ${weightPairs} pairs, L2/relative/cosine raw and after weight matching`);
    console.log(
      `  typescript ${weightResult.seconds.toFixed(2)} s (${(weightPairs / weightResult.seconds).toFixed(2)} pairs/s)` +
        `  numpy+scipy ${reference.weightSeconds.toFixed(2)} s (${(weightPairs / reference.weightSeconds).toFixed(2)} pairs/s)` +
        `  ratio ${(weightResult.seconds / reference.weightSeconds).toFixed(2)}`,
    );
    console.log(
      `  agreement: raw L2 max rel Δ ${maxRelativeDifference(weightResult.l2, reference.l2).toExponential(1)}, aligned L2 max rel Δ ${maxRelativeDifference(weightResult.alignedL2, reference.alignedL2).toExponential(1)}; aligned/raw L2 ${(mean(weightResult.alignedL2) / mean(weightResult.l2)).toFixed(3)}`,
    );
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

main();
