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
}

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
    const payload = buildPayload(db, experimentId, entry, stepOptions);
    const before = summary.pairsComputed;
    const result = await execute(payload, (done) => {
      summary.pairsComputed = before + done;
      report(`step ${entry.step}: pair ${done} of ${entry.pairs.length}`);
    });
    summary.pairsComputed = before + entry.pairs.length;

    writeStepResults(db, experimentId, entry.step, result.pairValues, result.artifacts);
    for (const warning of result.warnings) log.warn(warning, { experimentId, step: entry.step });
    summary.warnings.push(...result.warnings);

    const embeddingWarning = updateEmbeddings(db, experimentId, entry.step, entry.runs.map((run) => run.runId));
    if (embeddingWarning !== null) summary.warnings.push(embeddingWarning);
    summary.steps.push(entry.step);
  }

  report(`analysis up to date: ${summary.pairsComputed} pairs at ${summary.steps.length} steps`);
  return summary;
}

interface StepPlan {
  step: number;
  runs: AnalysableRun[];
  pairs: Array<[number, number]>;
}

/** Lists, per checkpoint step, the finished runs that have it and the pairs among them not yet stored. */
export function planAnalysis(db: Database.Database, experimentId: number): StepPlan[] {
  const runs = listAnalysableRuns(db, experimentId);
  const steps = [...new Set(runs.flatMap((run) => run.steps))].sort((a, b) => a - b);
  const plan: StepPlan[] = [];

  for (const step of steps) {
    const present = runs.filter((run) => run.steps.includes(step));
    const stored = storedPairs(db, experimentId, step, COMPLETION_METRIC);
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < present.length; i += 1) {
      for (let j = i + 1; j < present.length; j += 1) {
        const pair: [number, number] = [present[i]!.runId, present[j]!.runId];
        if (!stored.has(`${pair[0]}:${pair[1]}`)) pairs.push(pair);
      }
    }

    const analysedRuns = new Set(readArtifacts(db, experimentId, 'runFunction', step).map((artifact) => artifact.subject));
    const runsChanged = present.some((run) => !analysedRuns.has(String(run.runId))) || analysedRuns.size !== present.length;
    if (pairs.length > 0 || runsChanged) plan.push({ step, runs: present, pairs });
  }
  return plan;
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
 * stored pair metrics. A space with a missing or non-finite distance keeps
 * its previous embedding, and the returned warning names it.
 */
export function updateEmbeddings(db: Database.Database, experimentId: number, step: number, runIds: number[]): string | null {
  const values = readPairValues(db, experimentId, step);
  const index = new Map(runIds.map((runId, i) => [runId, i]));
  const spaces: Record<string, unknown> = {};
  const problems: string[] = [];

  for (const [space, metric] of Object.entries(MDS_SPACES)) {
    const distances = runIds.map(() => new Array<number>(runIds.length).fill(Number.NaN));
    runIds.forEach((_, i) => (distances[i]![i] = 0));
    for (const row of values) {
      if (row.metric !== metric) continue;
      const i = index.get(row.runA);
      const j = index.get(row.runB);
      if (i === undefined || j === undefined) continue;
      distances[i]![j] = row.value;
      distances[j]![i] = row.value;
    }

    if (distances.some((row) => row.some((value) => !Number.isFinite(value)))) {
      problems.push(`${space} (${metric})`);
      continue;
    }
    const { coordinates, eigenvalues, explained } = classicalMds(distances);
    spaces[space] = { metric, coordinates, eigenvalues, explained };
  }

  if (Object.keys(spaces).length > 0) {
    writeStepResults(db, experimentId, step, [], [{ kind: 'mds', subject: '', payload: { runIds, spaces } }]);
  }
  if (problems.length === 0) return null;
  return `MDS skipped at step ${step} for ${problems.join(', ')}: a distance is missing or not finite`;
}
