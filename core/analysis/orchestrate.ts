/**
 * The analysis job of an experiment. It finds the pairs of finished runs
 * whose metrics are missing at each checkpoint step and has them computed,
 * in a worker process or in this process. Then it stores the results and the
 * MDS embeddings. Pairs already stored are never recomputed unless the
 * caller asks for a full recomputation.
 */
import type Database from 'better-sqlite3';
import { createLogger } from '../log';
import { DEFAULT_STEP_OPTIONS, type StepAnalysisOptions, type StepAnalysisPayload, type StepAnalysisResult } from './job';
import { classicalMds } from './mds';
import {
  clearAnalysis,
  experimentExists,
  listAnalysableRuns,
  readArtifacts,
  readCheckpointBlobs,
  readPairValues,
  storedPairCounts,
  storedPairs,
  writeStepResults,
  type AnalysableRun,
} from './store';

const log = createLogger('analysis');

/** Runs one step job and reports pairs as they finish; rejects with the job's error. */
export type StepExecutor = (payload: StepAnalysisPayload, onPair: (done: number, total: number) => void) => Promise<StepAnalysisResult>;

export interface AnalysisProgress {
  experimentId: number;
  /** Pairs computed so far in this call. */
  done: number;
  /** Pairs this call computes in all. */
  total: number;
  message: string;
}

export interface AnalyseOptions {
  /** Deletes every stored pair metric and artefact of the experiment first. */
  recompute?: boolean;
  onProgress?: (progress: AnalysisProgress) => void;
  stepOptions?: Partial<StepAnalysisOptions>;
  /**
   * Checkpoint steps that get the loss paths and barrier metrics: `all`
   * (the default), or `final`, only the runs' last step. The paths take most
   * of the analysis time, so `final` suits large sweeps. Steps already
   * analysed keep what they have until a recomputation.
   */
  barrierSteps?: BarrierSteps;
}

export type BarrierSteps = 'all' | 'final';

export interface AnalysisSummary {
  steps: number[];
  pairsComputed: number;
  warnings: string[];
}

/** Distances embedded by MDS for the charts: one per space, by pair metric. */
export const MDS_SPACES = { function: 'fisherRao', weight: 'l2', alignedWeight: 'alignedL2' } as const;

/** A metric written for every computed pair, used to tell which pairs are stored. */
const COMPLETION_METRIC = 'klAB';

/**
 * Brings an experiment's analysis up to date. Safe to call after every
 * finished run: only missing pairs, and the per-run values and embeddings of
 * the steps they touch, are computed.
 */
export async function analyseExperiment(
  db: Database.Database,
  experimentId: number,
  execute: StepExecutor,
  options: AnalyseOptions = {},
): Promise<AnalysisSummary> {
  if (!experimentExists(db, experimentId)) throw new Error(`experiment ${experimentId} not found`);
  if (options.recompute === true) clearAnalysis(db, experimentId);

  const stepOptions = { ...DEFAULT_STEP_OPTIONS, ...options.stepOptions };
  const plan = planAnalysis(db, experimentId);
  const total = plan.reduce((sum, entry) => sum + entry.pairs.length, 0);
  const summary: AnalysisSummary = { steps: [], pairsComputed: 0, warnings: [] };
  const report = (message: string) => options.onProgress?.({ experimentId, done: summary.pairsComputed, total, message });

  for (const entry of plan) {
    report(`step ${entry.step}: ${entry.pairs.length} pairs of ${entry.runs.length} runs`);
    const lossPaths = options.barrierSteps !== 'final' || entry.step === entry.runs[0]!.config.training.steps;
    const payload = buildPayload(db, experimentId, entry, { ...stepOptions, lossPaths });
    const before = summary.pairsComputed;
    const result = await execute(payload, (done) => {
      summary.pairsComputed = before + done;
      report(`step ${entry.step}: pair ${done} of ${entry.pairs.length}`);
    });
    summary.pairsComputed = before + entry.pairs.length;

    writeStepResults(db, experimentId, entry.step, result.pairValues, result.artifacts);
    for (const warning of result.warnings) log.warn(warning, { experimentId, step: entry.step });
    summary.warnings.push(...result.warnings);

    if (!summary.steps.includes(entry.step)) summary.steps.push(entry.step);
  }

  for (const step of summary.steps) {
    const groups = plan.find((entry) => entry.step === step)!.groupsAtStep;
    const embeddingWarning = updateEmbeddings(db, experimentId, step, groups);
    if (embeddingWarning !== null) summary.warnings.push(embeddingWarning);
  }

  report(describeStoredPairs(db, experimentId, summary.pairsComputed));
  return summary;
}

/** Describes the pairs stored for the experiment after a pass, e.g. `analysis up to date: 28 pairs at each of 4 steps (6 computed now)`. */
export function describeStoredPairs(db: Database.Database, experimentId: number, computedNow: number): string {
  const counts = [...storedPairCounts(db, experimentId, COMPLETION_METRIC).values()];
  const computed = `${computedNow} computed now`;
  if (counts.length === 0) return `analysis up to date: no pairs yet, because fewer than two runs have finished (${computed})`;
  const total = counts.reduce((sum, count) => sum + count, 0);
  const stored = counts.every((count) => count === counts[0]) ? `${counts[0]} pairs at each of ${counts.length} steps` : `${total} pairs over ${counts.length} steps`;
  return `analysis up to date: ${stored} (${computed})`;
}

interface StepPlan {
  step: number;
  /** Comparable runs of this job: same task, model and probe set. */
  runs: AnalysableRun[];
  pairs: Array<[number, number]>;
  /** Run ids of every comparable group at this step, for the embeddings. */
  groupsAtStep: number[][];
}

/**
 * Lists, per checkpoint step and group of comparable runs, the finished runs
 * that have the step and the pairs among them not yet stored. Runs are
 * comparable when they share the task, the model config and the probe size,
 * so a grid over model or task settings gives one group per setting and no
 * pairs across them.
 */
export function planAnalysis(db: Database.Database, experimentId: number): StepPlan[] {
  const runs = listAnalysableRuns(db, experimentId);
  const steps = [...new Set(runs.flatMap((run) => run.steps))].sort((a, b) => a - b);
  const plan: StepPlan[] = [];

  for (const step of steps) {
    const groups = groupComparable(runs.filter((run) => run.steps.includes(step)));
    const groupsAtStep = groups.map((group) => group.map((run) => run.runId));
    for (const group of groups) {
      const entry = planGroup(db, experimentId, step, group);
      if (entry !== null) plan.push({ ...entry, groupsAtStep });
    }
  }
  return plan;
}

function groupComparable(runs: AnalysableRun[]): AnalysableRun[][] {
  const groups = new Map<string, AnalysableRun[]>();
  for (const run of runs) {
    const key = JSON.stringify([run.config.task, run.config.model, run.config.probeSize]);
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()];
}

function planGroup(db: Database.Database, experimentId: number, step: number, present: AnalysableRun[]): Omit<StepPlan, 'groupsAtStep'> | null {
  const stored = storedPairs(db, experimentId, step, COMPLETION_METRIC);
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < present.length; i += 1) {
    for (let j = i + 1; j < present.length; j += 1) {
      const pair: [number, number] = [present[i]!.runId, present[j]!.runId];
      if (!stored.has(`${pair[0]}:${pair[1]}`)) pairs.push(pair);
    }
  }

  // The ensemble values of a run depend on its group's size, so they are recomputed when the group grows.
  const runFunction = readArtifacts(db, experimentId, 'runFunction', step);
  const runsChanged = present.some((run) => {
    const artifact = runFunction.find((entry) => entry.subject === String(run.runId));
    return artifact === undefined || (artifact.payload as { runs?: number }).runs !== present.length;
  });
  if (pairs.length === 0 && !runsChanged) return null;
  return { step, runs: present, pairs };
}

function buildPayload(db: Database.Database, experimentId: number, entry: StepPlan, options: StepAnalysisOptions): StepAnalysisPayload {
  const first = entry.runs[0]!;
  return {
    experimentId,
    step: entry.step,
    config: first.config,
    runs: entry.runs.map((run) => ({ runId: run.runId, ...readCheckpointBlobs(db, run.runId, entry.step) })),
    pairs: entry.pairs,
    options,
  };
}

/**
 * Recomputes the 2-D MDS coordinates of a step's runs in each space from the
 * stored pair metrics, one embedding per group of comparable runs. A space
 * with a missing or non-finite distance is left out of its group's
 * embedding, and the returned warning names it.
 */
export function updateEmbeddings(db: Database.Database, experimentId: number, step: number, groups: number[][]): string | null {
  const values = readPairValues(db, experimentId, step);
  const problems: string[] = [];
  const embeddings = groups.map((runIds) => {
    const spaces: Record<string, unknown> = {};
    for (const [space, metric] of Object.entries(MDS_SPACES)) {
      const distances = distanceMatrix(values, runIds, metric);
      if (distances.some((row) => row.some((value) => !Number.isFinite(value)))) {
        problems.push(`${space} (${metric}) of runs ${runIds.join(', ')}`);
        continue;
      }
      const { coordinates, eigenvalues, explained } = classicalMds(distances);
      spaces[space] = { metric, coordinates, eigenvalues, explained };
    }
    return { runIds, spaces };
  });

  writeStepResults(db, experimentId, step, [], [{ kind: 'mds', subject: '', payload: { groups: embeddings } }]);
  if (problems.length === 0) return null;
  return `MDS skipped at step ${step} for ${problems.join('; ')}: a distance is missing or not finite`;
}

/** Symmetric distance matrix of `runIds` from stored pair values; NaN where a pair is missing. */
function distanceMatrix(values: ReturnType<typeof readPairValues>, runIds: number[], metric: string): number[][] {
  const index = new Map(runIds.map((runId, i) => [runId, i]));
  const distances = runIds.map((_, i) => runIds.map((__, j) => (i === j ? 0 : Number.NaN)));
  for (const row of values) {
    if (row.metric !== metric) continue;
    const i = index.get(row.runA);
    const j = index.get(row.runB);
    if (i === undefined || j === undefined) continue;
    distances[i]![j] = row.value;
    distances[j]![i] = row.value;
  }
  return distances;
}
