/** Row shapes of the SQLite tables and their mapping to the Api types. */
import type { ExperimentStatus, ExperimentSummary, RunInfo, RunStatus } from '../api';
import type { RunConfig, SweepSpec } from '../spec';

export interface ExperimentRow {
  id: number;
  name: string;
  notes: string;
  tags: string;
  spec: string;
  status: ExperimentStatus;
  archived: number;
  created_at: string;
  updated_at: string;
}

export interface RunRow {
  id: number;
  experiment_id: number;
  ordinal: number;
  config: string;
  optimizer_label: string;
  init_seed: number;
  data_seed: number;
  status: RunStatus;
  attempts: number;
  backend: string | null;
  host: string | null;
  pid: number | null;
  heartbeat_at: string | null;
  step: number;
  total_steps: number;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  wall_seconds: number | null;
  final_train_loss: number | null;
  final_val_loss: number | null;
  final_true_kl: number | null;
  weights_sha256: string | null;
}

export const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'done', 'failed', 'diverged', 'cancelled'];

export type RunCounts = ExperimentSummary['runCounts'];

export function emptyRunCounts(): RunCounts {
  return { queued: 0, running: 0, done: 0, failed: 0, diverged: 0, cancelled: 0, total: 0 };
}

/**
 * Derives an experiment's status from its runs. It is running while any run
 * runs, or while some finished and others wait. Otherwise it is failed when
 * any run failed, cancelled when any was cancelled, and done when every run
 * ended done or diverged.
 */
export function experimentStatusFor(counts: RunCounts): ExperimentStatus {
  if (counts.total === 0) return 'done';
  if (counts.running > 0) return 'running';
  if (counts.queued > 0) return counts.queued === counts.total ? 'queued' : 'running';
  if (counts.failed > 0) return 'failed';
  if (counts.cancelled > 0) return 'cancelled';
  return 'done';
}

export function toExperimentSummary(row: ExperimentRow, counts: RunCounts): ExperimentSummary {
  const spec = JSON.parse(row.spec) as SweepSpec;
  return {
    id: row.id,
    name: row.name,
    notes: row.notes,
    tags: JSON.parse(row.tags) as string[],
    status: row.status,
    archived: row.archived === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    task: spec.task.kind,
    optimizers: spec.optimizers.map((optimizer) => optimizer.name ?? optimizer.kind),
    runCounts: counts,
  };
}

export function toRunInfo(row: RunRow): RunInfo {
  const config = JSON.parse(row.config) as RunConfig;
  return {
    id: row.id,
    ordinal: row.ordinal,
    optimizerLabel: row.optimizer_label,
    optimizerKind: config.optimizer.kind,
    initSeed: row.init_seed,
    dataSeed: row.data_seed,
    status: row.status,
    attempts: row.attempts,
    backend: row.backend,
    step: row.step,
    totalSteps: row.total_steps,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    wallSeconds: row.wall_seconds,
    finalTrainLoss: row.final_train_loss,
    finalValidationLoss: row.final_val_loss,
    finalTrueKl: row.final_true_kl,
    weightsSha256: row.weights_sha256,
    gridPoint: config.gridPoint,
  };
}
