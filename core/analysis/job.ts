/**
 * Payloads of the worker protocol's `analyse` message. One job covers one
 * checkpoint step of one experiment: every finished run's blobs at that step
 * and the pairs still to compute. Blobs travel as `Uint8Array` by structured
 * clone.
 */
import type { RunConfig } from '../spec';

export const STEP_ANALYSIS_KIND = 'step';

export interface AnalysisRunInput {
  runId: number;
  /** safetensors blob of the parameters. */
  weights: Uint8Array;
  /** safetensors blob with `logProbs` F32 [probeSize, contextLength, vocab]. */
  probeLogProbs: Uint8Array;
  /** safetensors blob with `resid.0` … `resid.L`, or null to recompute them. */
  probeActivations: Uint8Array | null;
}

export interface StepAnalysisPayload {
  experimentId: number;
  step: number;
  /** Config of the first run; the model and task are shared by every run of a step job. */
  config: RunConfig;
  /** Every finished run with a checkpoint at this step, in ascending run id. */
  runs: AnalysisRunInput[];
  /** Pairs to compute, each [runA, runB] with runA < runB. */
  pairs: Array<[number, number]>;
  options: StepAnalysisOptions;
}

export interface StepAnalysisOptions {
  /** Points α = 0, 1/(n−1), …, 1 on each straight line between two runs; at least 2. */
  pathPoints: number;
  /** Computes the loss along each line and the barrier metrics at this step; false leaves them out. */
  lossPaths: boolean;
  /** Probe sequences are split into this many groups for the diagonal Fisher estimate. */
  fisherGroups: number;
  /** Seed of the labels sampled from the model for the Fisher estimate. */
  fisherSeed: number;
}

// NOTE: the two loss paths per pair (raw and aligned) dominate the time of a step job. On the wasm
// backend one 11-point path of the default model on 64 probe sequences took 0.8 to 2.3 s on a loaded
// 2-core machine. By that estimate a 64-run sweep (2016 pairs) needs one to three hours per step.
export const DEFAULT_STEP_OPTIONS: StepAnalysisOptions = { pathPoints: 11, lossPaths: true, fisherGroups: 16, fisherSeed: 0 };

/** One pair value; `runA < runB`, and a directed metric names its direction (klAB = KL(a‖b)). */
export interface PairValue {
  runA: number;
  runB: number;
  metric: string;
  value: number;
}

/** One JSON payload for analysis_artifacts; `subject` is a run id, `a:b` for a pair, or '' for the experiment. */
export interface ArtifactValue {
  kind: string;
  subject: string;
  payload: unknown;
}

export interface StepAnalysisResult {
  experimentId: number;
  step: number;
  pairValues: PairValue[];
  artifacts: ArtifactValue[];
  /** Problems that left some values NaN (for example a diverged run), one line each with the run ids. */
  warnings: string[];
}

/** The `result` of each `analysisResult` message an analysis worker sends for one job. */
export type AnalysisReply = { kind: 'progress'; done: number; total: number } | { kind: 'result'; result: StepAnalysisResult };
