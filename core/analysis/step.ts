/**
 * Computes every pair metric and per-run value of one checkpoint step. The
 * math here is pure. What needs the model (loss along a path, Fisher,
 * activations) comes through a `ModelProbe`, which the analysis worker
 * implements with TensorFlow.js.
 */
import { decodeSafetensors } from '../tensors/safetensors';
import { alignParameters, applyPermutation } from './alignment';
import {
  FUNCTION_METRICS,
  compareDistributions,
  ensembleMean,
  klPerPosition,
  mean,
  prepareDistribution,
  type ProbeDistribution,
} from './function-space';
import type { ArtifactValue, StepAnalysisPayload, StepAnalysisResult } from './job';
import { layoutOf, parametersFromBlob, type ParameterMap, type TransformerLayout } from './parameters';
import { centerActivations, linearCka, type CenteredActivations } from './representation';
import { weightDistances } from './weight-space';

/** The model-dependent quantities of the analysis, evaluated on the experiment's probe set. */
export interface ModelProbe {
  /** Mean probe loss (nats per counted position) at θ = (1 − α)·a + α·b for each α. */
  lossAlongPath(a: ParameterMap, b: ParameterMap, alphas: number[]): number[];
  /** Diagonal of the Fisher information per probe position at θ, one tensor per parameter. */
  diagonalFisher(parameters: ParameterMap): ParameterMap;
  /** Residual stream [probeSize · contextLength, dModel] after the embeddings and after each block. */
  residuals(parameters: ParameterMap): Float32Array[];
}

/** Task facts the analysis needs: measured probe positions and the true distribution. */
export interface ProbeTask {
  /** Flat probe positions (sequence · contextLength + t) that carry a measurement, or null for all. */
  measuredPositions: number[] | null;
  /** log p* [probeSize, contextLength, vocab] when the task has a known distribution. */
  trueLogProbs: Float32Array | null;
}

interface RunState {
  runId: number;
  parameters: ParameterMap;
  distribution: ProbeDistribution;
  activationsBlob: Uint8Array | null;
  activations?: CenteredActivations[];
  fisher?: ParameterMap;
  /** Mean probe loss at the run's own weights, shared by the endpoints of its paths. */
  loss?: number;
}

export type PairProgress = (done: number, total: number) => void;

/** Computes one step job; a pair whose alignment fails keeps its other values and gets NaN aligned values. */
export function analyseStep(payload: StepAnalysisPayload, probe: ModelProbe, task: ProbeTask, onPair?: PairProgress): StepAnalysisResult {
  if (payload.runs.length === 0) throw new Error(`step job for step ${payload.step} has no runs`);
  const { pathPoints, lossPaths } = payload.options;
  if (lossPaths && (!Number.isInteger(pathPoints) || pathPoints < 2)) throw new Error(`pathPoints must be an integer of at least 2; received ${pathPoints}`);
  const alphas = lossPaths ? Array.from({ length: pathPoints }, (_, i) => i / (pathPoints - 1)) : null;
  const runs = new Map(payload.runs.map((run) => [run.runId, loadRun(run, task)]));
  const layout = layoutOf(runs.values().next().value!.parameters, payload.config.model.nHeads);
  const result: StepAnalysisResult = { experimentId: payload.experimentId, step: payload.step, pairValues: [], artifacts: [], warnings: [] };

  payload.pairs.forEach(([runA, runB], index) => {
    const a = runs.get(runA);
    const b = runs.get(runB);
    if (a === undefined || b === undefined) throw new Error(`pair ${runA}:${runB} names a run that is not in the step job`);
    comparePair(a, b, layout, probe, alphas, result);
    onPair?.(index + 1, payload.pairs.length);
  });

  addRunValues([...runs.values()], task, result);
  return result;
}

function loadRun(run: StepAnalysisPayload['runs'][number], task: ProbeTask): RunState {
  const parameters = parametersFromBlob(run.weights);
  const logProbs = decodeSafetensors(run.probeLogProbs).tensors.find((tensor) => tensor.name === 'logProbs');
  if (logProbs === undefined) throw new Error(`checkpoint of run ${run.runId} has no "logProbs" tensor in its probe blob`);
  const width = logProbs.shape[logProbs.shape.length - 1]!;

  const selected = selectPositions(logProbs.data, width, task.measuredPositions);
  return { runId: run.runId, parameters, distribution: prepareDistribution(selected, width), activationsBlob: run.probeActivations };
}

/** Copies the rows [positions, vocab] of the measured positions; returns the input when every position counts. */
export function selectPositions(logProbs: ArrayLike<number>, vocab: number, positions: number[] | null): ArrayLike<number> {
  if (positions === null) return logProbs;
  const selected = new Float64Array(positions.length * vocab);
  positions.forEach((position, row) => {
    for (let k = 0; k < vocab; k += 1) selected[row * vocab + k] = logProbs[position * vocab + k]!;
  });
  return selected;
}

type PushPairValue = (metric: string, value: number) => void;

/** Compares one pair; `alphas` null leaves out the loss paths and the barrier metrics. */
function comparePair(a: RunState, b: RunState, layout: TransformerLayout, probe: ModelProbe, alphas: number[] | null, result: StepAnalysisResult): void {
  const push: PushPairValue = (metric, value) => result.pairValues.push({ runA: a.runId, runB: b.runId, metric, value });
  const subject = `${a.runId}:${b.runId}`;

  const functionMetrics = compareDistributions(a.distribution, b.distribution);
  for (const name of FUNCTION_METRICS) push(name, functionMetrics[name]);

  const activationsA = activationsOf(a, probe);
  const activationsB = activationsOf(b, probe);
  activationsA.forEach((layer, index) => push(`cka.${index}`, linearCka(layer, activationsB[index]!)));

  const raw = weightDistances(a.parameters, b.parameters);
  push('l2', raw.model.l2);
  push('relativeL2', raw.model.relativeL2);
  push('cosine', raw.model.cosine);
  push('fisherAB', fisherQuadratic(fisherOf(a, probe), a.parameters, b.parameters));
  push('fisherBA', fisherQuadratic(fisherOf(b, probe), b.parameters, a.parameters));
  const rawPath = alphas === null ? null : pathLosses(a, b, b.parameters, alphas, probe);
  if (alphas !== null && rawPath !== null) push('barrier', lossBarrier(alphas, rawPath));

  const aligned = alignSafely(a, b, layout, result);
  let alignedValues: ReturnType<typeof compareAligned> | null = null;
  if (aligned === null) {
    for (const metric of ALIGNED_METRICS) if (alphas !== null || metric !== 'alignedBarrier') push(metric, Number.NaN);
  } else {
    alignedValues = compareAligned(a, b, aligned, layout, probe, alphas, push);
    result.artifacts.push({ kind: 'permutation', subject, payload: { permutation: aligned.permutation, similarityHistory: aligned.similarityHistory } });
  }
  result.artifacts.push({ kind: 'weightTensors', subject, payload: { raw: raw.tensors, aligned: alignedValues?.tensors ?? null } });
  if (alphas !== null) result.artifacts.push({ kind: 'lossPath', subject, payload: { alphas, raw: rawPath, aligned: alignedValues?.path ?? null } });
}

const ALIGNED_METRICS = ['alignedL2', 'alignedRelativeL2', 'alignedCosine', 'alignedFisherAB', 'alignedFisherBA', 'alignedBarrier'];

/** Pushes the distances between a and b's aligned copy; returns the per-tensor distances and the loss path. */
function compareAligned(
  a: RunState,
  b: RunState,
  aligned: NonNullable<ReturnType<typeof alignSafely>>,
  layout: TransformerLayout,
  probe: ModelProbe,
  alphas: number[] | null,
  push: PushPairValue,
) {
  const distances = weightDistances(a.parameters, aligned.parameters);
  push('alignedL2', distances.model.l2);
  push('alignedRelativeL2', distances.model.relativeL2);
  push('alignedCosine', distances.model.cosine);

  // Permuting b's Fisher with b's permutation keeps it the Fisher of the aligned copy.
  push('alignedFisherAB', fisherQuadratic(fisherOf(a, probe), a.parameters, aligned.parameters));
  push('alignedFisherBA', fisherQuadratic(applyPermutation(fisherOf(b, probe), aligned.permutation, layout), aligned.parameters, a.parameters));

  if (alphas === null) return { tensors: distances.tensors, path: null };
  const path = pathLosses(a, b, aligned.parameters, alphas, probe);
  push('alignedBarrier', lossBarrier(alphas, path));
  return { tensors: distances.tensors, path };
}

function alignSafely(a: RunState, b: RunState, layout: TransformerLayout, result: StepAnalysisResult) {
  try {
    const alignment = alignParameters(a.parameters, b.parameters, layout);
    return { parameters: alignment.aligned, permutation: alignment.permutation, similarityHistory: alignment.similarityHistory };
  } catch (error) {
    result.warnings.push(`alignment of runs ${a.runId} and ${b.runId} failed: ${(error as Error).message}`);
    return null;
  }
}

/**
 * Returns the probe loss at each α on the line from a to `end`, where `end`
 * is b or its aligned copy. Both compute the same function, so the
 * endpoints reuse each run's cached loss and only interior points are
 * evaluated.
 */
function pathLosses(a: RunState, b: RunState, end: ParameterMap, alphas: number[], probe: ModelProbe): number[] {
  const interior = probe.lossAlongPath(a.parameters, end, alphas.slice(1, -1));
  return [lossOf(a, probe), ...interior, lossOf(b, probe)];
}

function lossOf(run: RunState, probe: ModelProbe): number {
  run.loss ??= probe.lossAlongPath(run.parameters, run.parameters, [0])[0]!;
  return run.loss;
}

/**
 * Returns the linear mode connectivity barrier max over α of
 * L(α) − [(1 − α)·L(0) + α·L(1)], the largest rise of the loss above the
 * chord between the endpoints. It is
 * at least 0 because both endpoints lie on the chord.
 */
export function lossBarrier(alphas: number[], losses: number[]): number {
  if (alphas.length !== losses.length || alphas.length < 2) {
    throw new Error(`a loss path needs at least 2 points with one loss each; received ${alphas.length} points and ${losses.length} losses`);
  }
  const start = losses[0]!;
  const end = losses[losses.length - 1]!;
  let barrier = -Infinity;
  alphas.forEach((alpha, i) => {
    barrier = Math.max(barrier, losses[i]! - ((1 - alpha) * start + alpha * end));
  });
  return Number.isNaN(start) || Number.isNaN(end) || losses.some(Number.isNaN) ? Number.NaN : barrier;
}

/** ½ Δθᵀ F Δθ with Δθ = to − from and a diagonal F. */
export function fisherQuadratic(fisher: ParameterMap, from: ParameterMap, to: ParameterMap): number {
  let total = 0;
  for (const [name, diagonal] of fisher) {
    const start = from.get(name)!.data;
    const end = to.get(name)!.data;
    for (let i = 0; i < diagonal.data.length; i += 1) {
      const delta = end[i]! - start[i]!;
      total += diagonal.data[i]! * delta * delta;
    }
  }
  return 0.5 * total;
}

function fisherOf(run: RunState, probe: ModelProbe): ParameterMap {
  run.fisher ??= probe.diagonalFisher(run.parameters);
  return run.fisher;
}

function activationsOf(run: RunState, probe: ModelProbe): CenteredActivations[] {
  if (run.activations !== undefined) return run.activations;

  let layers: Float32Array[];
  if (run.activationsBlob !== null) {
    const tensors = decodeSafetensors(run.activationsBlob).tensors.filter((tensor) => /^resid\.\d+$/.test(tensor.name));
    tensors.sort((x, y) => Number(x.name.slice(6)) - Number(y.name.slice(6)));
    layers = tensors.map((tensor) => Float32Array.from(tensor.data));
  } else {
    layers = probe.residuals(run.parameters);
  }

  const dModel = run.parameters.get('tokenEmbedding')!.shape[1]!;
  run.activations = layers.map((layer) => centerActivations(layer, dModel));
  return run.activations;
}

/** KL to the ensemble mean for every run, and KL(p*‖p_θ) where the task defines p*. */
function addRunValues(runs: RunState[], task: ProbeTask, result: StepAnalysisResult): void {
  const distributions = runs.map((run) => run.distribution);
  const ensemble = ensembleMean(distributions);

  let truth: ProbeDistribution | null = null;
  if (task.trueLogProbs !== null) {
    const vocab = distributions[0]!.vocab;
    truth = prepareDistribution(selectPositions(task.trueLogProbs, vocab, task.measuredPositions), vocab);
  }

  for (const run of runs) {
    const payload: Record<string, number | number[]> = {
      runs: runs.length,
      klToEnsemble: mean(klPerPosition(run.distribution, ensemble)),
      klFromEnsemble: mean(klPerPosition(ensemble, run.distribution)),
    };
    if (truth !== null) payload.trueKl = mean(klPerPosition(truth, run.distribution));
    result.artifacts.push({ kind: 'runFunction', subject: String(run.runId), payload } satisfies ArtifactValue);
  }
}
