/**
 * The `Api` contract: the only thing the renderer knows about the backend.
 * The Service in core implements it; Electron exposes it over IPC and
 * `seedscope serve` over HTTP + SSE. Every type here is plain JSON-compatible
 * data except that numbers may be NaN or ±Infinity; the HTTP transport encodes
 * those explicitly (see `encodeNumber`).
 */
import type { SpecIssue, SweepSpec } from './spec';

export type ExperimentStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'diverged' | 'cancelled';

export interface ExperimentSummary {
  id: number;
  name: string;
  notes: string;
  tags: string[];
  status: ExperimentStatus;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
  task: string;
  optimizers: string[];
  runCounts: Record<RunStatus, number> & { total: number };
}

export interface RunInfo {
  id: number;
  ordinal: number;
  optimizerLabel: string;
  optimizerKind: string;
  initSeed: number;
  dataSeed: number;
  status: RunStatus;
  attempts: number;
  backend: string | null;
  step: number;
  totalSteps: number;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  wallSeconds: number | null;
  finalTrainLoss: number | null;
  finalValidationLoss: number | null;
  finalTrueKl: number | null;
  weightsSha256: string | null;
  gridPoint: Record<string, number | boolean | string>;
}

export interface ExperimentDetail extends ExperimentSummary {
  spec: SweepSpec;
  runs: RunInfo[];
  checkpointSteps: number[];
}

/** One metric of one run over steps; `values` may hold NaN and ±Infinity. */
export interface MetricSeries {
  runId: number;
  name: string;
  steps: number[];
  values: number[];
}

/** All pair values of one metric at one step, in a flat layout for charts. */
export interface PairMetricTable {
  step: number;
  metric: string;
  runA: number[];
  runB: number[];
  values: number[];
}

export interface ExperimentPatch {
  name?: string;
  notes?: string;
  tags?: string[];
  archived?: boolean;
}

export type ValidationResult = { ok: true; runCount: number; spec: SweepSpec } | { ok: false; issues: SpecIssue[] };

export type ApiEvent =
  | { type: 'experiment'; experiment: ExperimentSummary }
  | { type: 'experimentDeleted'; experimentId: number }
  | {
      type: 'runProgress';
      experimentId: number;
      runId: number;
      status: RunStatus;
      step: number;
      totalSteps: number;
      loss: number | null;
      tokensPerSecond: number | null;
    }
  | { type: 'analysisProgress'; experimentId: number; done: number; total: number; message: string };

/**
 * Reads resolve to data or null (not found); writes reject with an `ApiError`
 * whose message names the input at fault.
 */
export interface Api {
  listExperiments(): Promise<ExperimentSummary[]>;
  getExperiment(id: number): Promise<ExperimentDetail | null>;
  validateSpec(spec: unknown): Promise<ValidationResult>;
  /** Validates, stores and enqueues a sweep; its runs start when workers are free. */
  createExperiment(spec: unknown): Promise<{ id: number }>;
  updateExperiment(id: number, patch: ExperimentPatch): Promise<ExperimentSummary>;
  deleteExperiment(id: number): Promise<void>;
  cancelExperiment(id: number): Promise<void>;
  cancelRun(runId: number): Promise<void>;
  retryRun(runId: number): Promise<void>;
  getRunMetrics(experimentId: number, names?: string[]): Promise<MetricSeries[]>;
  listPairMetrics(experimentId: number): Promise<{ steps: number[]; metrics: string[] }>;
  getPairMetrics(experimentId: number, step: number, metrics: string[]): Promise<PairMetricTable[]>;
  /** Analysis artefacts by kind (e.g. `mds`, `consistency`), JSON payloads. */
  getArtifacts(experimentId: number, kind: string, step?: number): Promise<Array<{ step: number; subject: string; payload: unknown }>>;
  getRunLog(runId: number): Promise<Array<{ at: string; level: string; message: string }>>;
  /** Subscribes to live events; returns the unsubscribe function. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
}

/** An error that crosses a transport as data: `{ code, message }`. */
export class ApiError extends Error {
  constructor(
    readonly code: 'invalid' | 'not_found' | 'conflict' | 'internal',
    message: string,
    readonly issues?: SpecIssue[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** JSON has no NaN or Infinity; the HTTP transport sends them as these strings. */
export function encodeNumber(value: number): number | 'NaN' | 'Infinity' | '-Infinity' {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

export function decodeNumber(value: number | string | null): number {
  if (value === null) return Number.NaN;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return typeof value === 'number' ? value : Number(value);
}
