/**
 * The typed store over one SQLite file. Every write is a short transaction so
 * that a second process (a `seedscope ls` beside a running sweep) waits at
 * most for one of them. Only the process that runs the scheduler writes run
 * progress, and workers never open the database.
 */
import { createHash } from 'node:crypto';
import type { ExperimentDetail, ExperimentPatch, ExperimentSummary, MetricSeries, PairMetricTable, RunInfo, RunStatus } from '../api';
import type { RunConfig, SweepSpec } from '../spec';
import type { CheckpointPayload, LogLevel, MetricRow, RunSummary } from '../../worker/protocol';
import { openDatabase, type OpenOptions, type SqliteDatabase } from './database';
import { emptyRunCounts, experimentStatusFor, toExperimentSummary, toRunInfo, type ExperimentRow, type RunCounts, type RunRow } from './rows';
import { decodeValue, encodeValue } from './values';

/** A run as the scheduler needs it: the Api view plus its config and ownership. */
export interface RunRecord extends RunInfo {
  experimentId: number;
  config: RunConfig;
  pid: number | null;
  host: string | null;
  heartbeatAt: string | null;
}

export interface CheckpointInfo {
  runId: number;
  step: number;
  weightsSha256: string;
  createdAt: string;
}

export interface CheckpointRecord extends CheckpointInfo {
  weights: Uint8Array;
  optimizerState: Uint8Array;
  trainerState: unknown;
  probeLogProbs: Uint8Array;
  probeActivations: Uint8Array | null;
}

/** One pair value; `runA < runB`, and a directed metric names its direction (klAB = KL(a‖b)). */
export interface PairMetricRow {
  runA: number;
  runB: number;
  step: number;
  metric: string;
  value: number;
}

export type RunOutcome =
  | { status: 'done'; summary: RunSummary }
  | { status: 'diverged'; step: number; message: string }
  | { status: 'failed'; error: string }
  | { status: 'cancelled' };

export interface RunOwner {
  pid: number;
  host: string;
}

const now = () => new Date().toISOString();

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function nullableNumber(value: number | undefined): number | null {
  return value === undefined || !Number.isFinite(value) ? null : value;
}

export class Store {
  private constructor(
    readonly db: SqliteDatabase,
    readonly file: string,
  ) {}

  static open(file: string, options: OpenOptions = {}): Store {
    return new Store(openDatabase(file, options), file);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // Experiments.

  /** Inserts an experiment and its runs (all queued) in one transaction; returns the experiment id. */
  insertExperiment(spec: SweepSpec, runs: RunConfig[]): number {
    const insert = this.db.transaction(() => {
      const at = now();
      const { lastInsertRowid } = this.db
        .prepare(`INSERT INTO experiments (name, notes, tags, spec, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
        .run(spec.name, spec.notes, JSON.stringify(spec.tags), JSON.stringify(spec), runs.length > 0 ? 'queued' : 'done', at, at);
      const experimentId = Number(lastInsertRowid);

      const insertRun = this.db.prepare(
        `INSERT INTO runs (experiment_id, ordinal, config, optimizer_label, init_seed, data_seed, status, total_steps)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)`,
      );
      runs.forEach((run, ordinal) => {
        insertRun.run(experimentId, ordinal, JSON.stringify(run), run.optimizerLabel, run.initSeed, run.dataSeed, run.training.steps);
      });
      return experimentId;
    });
    return insert.immediate();
  }

  listExperiments(): ExperimentSummary[] {
    const rows = this.db.prepare(`SELECT * FROM experiments ORDER BY id DESC`).all() as ExperimentRow[];
    const counts = this.runCountsByExperiment();
    return rows.map((row) => toExperimentSummary(row, counts.get(row.id) ?? emptyRunCounts()));
  }

  getExperimentSummary(id: number): ExperimentSummary | null {
    const row = this.db.prepare(`SELECT * FROM experiments WHERE id = ?`).get(id) as ExperimentRow | undefined;
    if (!row) return null;
    return toExperimentSummary(row, this.runCountsByExperiment(id).get(id) ?? emptyRunCounts());
  }

  getExperimentDetail(id: number): ExperimentDetail | null {
    const row = this.db.prepare(`SELECT * FROM experiments WHERE id = ?`).get(id) as ExperimentRow | undefined;
    if (!row) return null;

    const runs = this.listRuns(id);
    const counts = emptyRunCounts();
    for (const run of runs) {
      counts[run.status] += 1;
      counts.total += 1;
    }
    const steps = this.db
      .prepare(`SELECT DISTINCT c.step FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.experiment_id = ? ORDER BY c.step`)
      .pluck()
      .all(id) as number[];
    return { ...toExperimentSummary(row, counts), spec: JSON.parse(row.spec) as SweepSpec, runs, checkpointSteps: steps };
  }

  /** Applies a patch; returns the updated summary, or null when the experiment does not exist. */
  updateExperiment(id: number, patch: ExperimentPatch): ExperimentSummary | null {
    const sets: string[] = [];
    const values: unknown[] = [];
    if (patch.name !== undefined) {
      sets.push('name = ?');
      values.push(patch.name);
    }
    if (patch.notes !== undefined) {
      sets.push('notes = ?');
      values.push(patch.notes);
    }
    if (patch.tags !== undefined) {
      sets.push('tags = ?');
      values.push(JSON.stringify(patch.tags));
    }
    if (patch.archived !== undefined) {
      sets.push('archived = ?');
      values.push(patch.archived ? 1 : 0);
    }
    sets.push('updated_at = ?');
    values.push(now());

    const { changes } = this.db.prepare(`UPDATE experiments SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    return changes === 0 ? null : this.getExperimentSummary(id);
  }

  /** Deletes an experiment with its runs, metrics, checkpoints and analysis; returns whether it existed. */
  deleteExperiment(id: number): boolean {
    return this.db.prepare(`DELETE FROM experiments WHERE id = ?`).run(id).changes > 0;
  }

  /** Recomputes an experiment's status from its runs; returns the new status. */
  refreshExperimentStatus(id: number): ExperimentSummary['status'] {
    const counts = this.runCountsByExperiment(id).get(id) ?? emptyRunCounts();
    const status = experimentStatusFor(counts);
    this.db.prepare(`UPDATE experiments SET status = ?, updated_at = ? WHERE id = ? AND status != ?`).run(status, now(), id, status);
    return status;
  }

  private runCountsByExperiment(experimentId?: number): Map<number, RunCounts> {
    const rows = (
      experimentId === undefined
        ? this.db.prepare(`SELECT experiment_id, status, COUNT(*) AS n FROM runs GROUP BY experiment_id, status`).all()
        : this.db.prepare(`SELECT experiment_id, status, COUNT(*) AS n FROM runs WHERE experiment_id = ? GROUP BY status`).all(experimentId)
    ) as Array<{ experiment_id: number; status: RunStatus; n: number }>;

    const counts = new Map<number, RunCounts>();
    for (const row of rows) {
      const entry = counts.get(row.experiment_id) ?? emptyRunCounts();
      entry[row.status] += row.n;
      entry.total += row.n;
      counts.set(row.experiment_id, entry);
    }
    return counts;
  }

  // Runs.

  listRuns(experimentId: number): RunInfo[] {
    const rows = this.db.prepare(`SELECT * FROM runs WHERE experiment_id = ? ORDER BY ordinal`).all(experimentId) as RunRow[];
    return rows.map(toRunInfo);
  }

  getRun(runId: number): RunRecord | null {
    const row = this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(runId) as RunRow | undefined;
    return row ? toRunRecord(row) : null;
  }

  /** Runs with the given status, across experiments or within the listed ones. */
  listRunsWithStatus(status: RunStatus, experimentIds?: number[]): RunRecord[] {
    const rows = this.db.prepare(`SELECT * FROM runs WHERE status = ? ORDER BY experiment_id, ordinal`).all(status) as RunRow[];
    const allowed = experimentIds ? new Set(experimentIds) : null;
    return rows.filter((row) => !allowed || allowed.has(row.experiment_id)).map(toRunRecord);
  }

  /** Counts runs with the given status, across experiments or within the listed ones. */
  countRunsWithStatus(status: RunStatus, experimentIds?: number[]): number {
    const filter = experimentIds ? `AND experiment_id IN (${experimentIds.map(() => '?').join(', ') || 'NULL'})` : '';
    return this.db.prepare(`SELECT COUNT(*) FROM runs WHERE status = ? ${filter}`).pluck().get(status, ...(experimentIds ?? [])) as number;
  }

  /**
   * Atomically takes the first queued run (of the listed experiments, or of
   * any) for `owner`: marks it running and counts the attempt. Returns null
   * when nothing is queued.
   */
  claimNextRun(owner: RunOwner, experimentIds?: number[]): RunRecord | null {
    const claim = this.db.transaction(() => {
      const filter = experimentIds ? `AND experiment_id IN (${experimentIds.map(() => '?').join(', ') || 'NULL'})` : '';
      const next = this.db
        .prepare(`SELECT id, experiment_id FROM runs WHERE status = 'queued' ${filter} ORDER BY experiment_id, ordinal LIMIT 1`)
        .get(...(experimentIds ?? [])) as { id: number; experiment_id: number } | undefined;
      if (!next) return null;

      const at = now();
      this.db
        .prepare(
          `UPDATE runs SET status = 'running', attempts = attempts + 1, pid = ?, host = ?, heartbeat_at = ?,
             started_at = COALESCE(started_at, ?), error = NULL WHERE id = ?`,
        )
        .run(owner.pid, owner.host, at, at, next.id);
      this.refreshExperimentStatus(next.experiment_id);
      return this.getRun(next.id);
    });
    return claim.immediate();
  }

  markRunStarted(runId: number, backend: string): void {
    this.db.prepare(`UPDATE runs SET backend = ?, heartbeat_at = ? WHERE id = ?`).run(backend, now(), runId);
  }

  touchHeartbeat(runId: number): void {
    this.db.prepare(`UPDATE runs SET heartbeat_at = ? WHERE id = ?`).run(now(), runId);
  }

  /** Inserts a metric batch and advances the run's step, in one transaction. */
  recordMetrics(runId: number, rows: MetricRow[]): void {
    const insert = this.db.prepare(`INSERT OR REPLACE INTO run_metrics (run_id, step, name, value, kind) VALUES (?, ?, ?, ?, ?)`);
    const write = this.db.transaction(() => {
      let lastStep = 0;
      for (const row of rows) {
        const { value, kind } = encodeValue(row.value);
        insert.run(runId, row.step, row.name, value, kind);
        lastStep = Math.max(lastStep, row.step);
      }
      this.db.prepare(`UPDATE runs SET step = MAX(step, ?), heartbeat_at = ? WHERE id = ?`).run(lastStep, now(), runId);
    });
    write.immediate();
  }

  /**
   * Rebuilds the summary of a run from the metrics stored at its final
   * checkpoint step. Wall time is measured from the run's start.
   */
  summaryFromStoredMetrics(runId: number, step: number): RunSummary {
    const rows = this.db.prepare(`SELECT name, value, kind FROM run_metrics WHERE run_id = ? AND step = ?`).all(runId, step) as Array<{
      name: string;
      value: number | null;
      kind: string;
    }>;
    const values = new Map(rows.map((row) => [row.name, decodeValue(row.value, row.kind)]));
    const run = this.getRun(runId);
    const wallSeconds = run?.startedAt ? (Date.now() - Date.parse(run.startedAt)) / 1000 : Number.NaN;
    const summary: RunSummary = {
      steps: step,
      finalTrainLoss: values.get('trainLoss') ?? Number.NaN,
      finalValidationLoss: values.get('validationLoss') ?? Number.NaN,
      wallSeconds,
    };
    const trueKl = values.get('trueKl');
    if (trueKl !== undefined) summary.finalTrueKl = trueKl;
    return summary;
  }

  /** Stores a checkpoint and advances the run's step to it, in one transaction. */
  commitCheckpoint(runId: number, checkpoint: CheckpointPayload): string {
    const hash = sha256Hex(checkpoint.weights);
    const write = this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT OR REPLACE INTO checkpoints
             (run_id, step, weights, optimizer_state, trainer_state, probe_log_probs, probe_activations, weights_sha256, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          runId,
          checkpoint.step,
          Buffer.from(checkpoint.weights.buffer, checkpoint.weights.byteOffset, checkpoint.weights.byteLength),
          Buffer.from(checkpoint.optimizerState.buffer, checkpoint.optimizerState.byteOffset, checkpoint.optimizerState.byteLength),
          JSON.stringify(checkpoint.trainerState ?? null),
          Buffer.from(checkpoint.probeLogProbs.buffer, checkpoint.probeLogProbs.byteOffset, checkpoint.probeLogProbs.byteLength),
          checkpoint.probeActivations
            ? Buffer.from(checkpoint.probeActivations.buffer, checkpoint.probeActivations.byteOffset, checkpoint.probeActivations.byteLength)
            : null,
          hash,
          now(),
        );
      this.db.prepare(`UPDATE runs SET step = MAX(step, ?), heartbeat_at = ? WHERE id = ?`).run(checkpoint.step, now(), runId);
    });
    write.immediate();
    return hash;
  }

  /**
   * Prepares a run to continue from its last committed checkpoint: drops
   * metrics logged after it (the resumed run logs them again) and sets the
   * step back. Returns the checkpoint, or null to start from step 0.
   */
  rewindToLastCheckpoint(runId: number): CheckpointRecord | null {
    const rewind = this.db.transaction(() => {
      const checkpoint = this.latestCheckpoint(runId);
      const step = checkpoint?.step ?? 0;
      this.db.prepare(`DELETE FROM run_metrics WHERE run_id = ? AND step > ?`).run(runId, step);
      this.db.prepare(`UPDATE runs SET step = ? WHERE id = ?`).run(step, runId);
      return checkpoint;
    });
    return rewind.immediate();
  }

  /** Records how a run ended; returns whether it was still running (a cancel may have ended it first). */
  finishRun(runId: number, outcome: RunOutcome): boolean {
    const finish = this.db.transaction(() => {
      const run = this.getRun(runId);
      if (!run) return false;
      const wasRunning = run.status === 'running';
      // A cancel recorded by another process wins over a late failure, but
      // finished work is kept.
      if (!wasRunning && outcome.status !== 'done') return false;
      const at = now();
      const wallSeconds = run.startedAt ? (Date.parse(at) - Date.parse(run.startedAt)) / 1000 : null;

      if (outcome.status === 'done') {
        const { summary } = outcome;
        const finalCheckpoint =
          (this.db.prepare(`SELECT weights_sha256 FROM checkpoints WHERE run_id = ? AND step = ?`).pluck().get(runId, summary.steps) as string | undefined) ??
          this.latestCheckpoint(runId)?.weightsSha256 ??
          null;
        this.db
          .prepare(
            `UPDATE runs SET status = 'done', step = ?, finished_at = ?, wall_seconds = ?, final_train_loss = ?, final_val_loss = ?,
               final_true_kl = ?, weights_sha256 = ?, error = NULL, pid = NULL WHERE id = ?`,
          )
          .run(
            summary.steps,
            at,
            summary.wallSeconds,
            nullableNumber(summary.finalTrainLoss),
            nullableNumber(summary.finalValidationLoss),
            nullableNumber(summary.finalTrueKl),
            finalCheckpoint,
            runId,
          );
      } else if (outcome.status === 'diverged') {
        this.db
          .prepare(`UPDATE runs SET status = 'diverged', step = MAX(step, ?), finished_at = ?, wall_seconds = ?, error = ?, pid = NULL WHERE id = ?`)
          .run(outcome.step, at, wallSeconds, outcome.message, runId);
      } else if (outcome.status === 'failed') {
        this.db.prepare(`UPDATE runs SET status = 'failed', finished_at = ?, wall_seconds = ?, error = ?, pid = NULL WHERE id = ?`).run(at, wallSeconds, outcome.error, runId);
      } else {
        this.db.prepare(`UPDATE runs SET status = 'cancelled', finished_at = ?, pid = NULL WHERE id = ?`).run(at, runId);
      }
      this.refreshExperimentStatus(run.experimentId);
      return wasRunning;
    });
    return finish.immediate();
  }

  /** Puts a running run back in the queue, keeping its attempts and checkpoints. */
  requeueRun(runId: number, error: string | null): void {
    const requeue = this.db.transaction(() => {
      const run = this.getRun(runId);
      if (!run || run.status !== 'running') return;
      this.db.prepare(`UPDATE runs SET status = 'queued', pid = NULL, error = ? WHERE id = ?`).run(error, runId);
      this.refreshExperimentStatus(run.experimentId);
    });
    requeue.immediate();
  }

  /**
   * Cancels queued and running runs (one run, or all of an experiment).
   * The scheduler that owns a running run reads the status change on its next check and stops the worker.
   * Returns the ids of the runs that were running.
   */
  cancelRuns(target: { experimentId: number } | { runId: number }): number[] {
    const cancel = this.db.transaction(() => {
      const where = 'experimentId' in target ? 'experiment_id = ?' : 'id = ?';
      const key = 'experimentId' in target ? target.experimentId : target.runId;
      const rows = this.db.prepare(`SELECT id, experiment_id, status FROM runs WHERE ${where} AND status IN ('queued', 'running')`).all(key) as Array<{
        id: number;
        experiment_id: number;
        status: RunStatus;
      }>;
      const at = now();
      for (const row of rows) {
        this.db.prepare(`UPDATE runs SET status = 'cancelled', finished_at = ? WHERE id = ?`).run(at, row.id);
      }
      for (const experimentId of new Set(rows.map((row) => row.experiment_id))) this.refreshExperimentStatus(experimentId);
      return rows.filter((row) => row.status === 'running').map((row) => row.id);
    });
    return cancel.immediate();
  }

  /** Queues a finished run again from scratch: its checkpoints, metrics and logs are dropped. */
  resetRun(runId: number): void {
    const reset = this.db.transaction(() => {
      const run = this.getRun(runId);
      if (!run) return;
      this.db.prepare(`DELETE FROM checkpoints WHERE run_id = ?`).run(runId);
      this.db.prepare(`DELETE FROM run_metrics WHERE run_id = ?`).run(runId);
      this.db
        .prepare(
          `UPDATE runs SET status = 'queued', attempts = 0, step = 0, error = NULL, pid = NULL, host = NULL, started_at = NULL,
             finished_at = NULL, wall_seconds = NULL, final_train_loss = NULL, final_val_loss = NULL, final_true_kl = NULL,
             weights_sha256 = NULL, backend = NULL WHERE id = ?`,
        )
        .run(runId);
      this.refreshExperimentStatus(run.experimentId);
    });
    reset.immediate();
  }

  // Run logs.

  appendRunLog(runId: number, level: LogLevel, message: string): void {
    this.db.prepare(`INSERT INTO run_logs (run_id, at, level, message) VALUES (?, ?, ?, ?)`).run(runId, now(), level, message);
  }

  getRunLog(runId: number): Array<{ at: string; level: string; message: string }> {
    return this.db.prepare(`SELECT at, level, message FROM run_logs WHERE run_id = ? ORDER BY id`).all(runId) as Array<{
      at: string;
      level: string;
      message: string;
    }>;
  }

  // Metrics.

  /** Returns every metric series of an experiment's runs, optionally only the named metrics. */
  getRunMetrics(experimentId: number, names?: string[]): MetricSeries[] {
    const nameFilter = names && names.length > 0 ? `AND m.name IN (${names.map(() => '?').join(', ')})` : '';
    const rows = this.db
      .prepare(
        `SELECT m.run_id, m.name, m.step, m.value, m.kind FROM run_metrics m JOIN runs r ON r.id = m.run_id
         WHERE r.experiment_id = ? ${nameFilter} ORDER BY r.ordinal, m.name, m.step`,
      )
      .all(experimentId, ...(names ?? [])) as Array<{ run_id: number; name: string; step: number; value: number | null; kind: string }>;

    const series: MetricSeries[] = [];
    let current: MetricSeries | null = null;
    for (const row of rows) {
      if (!current || current.runId !== row.run_id || current.name !== row.name) {
        current = { runId: row.run_id, name: row.name, steps: [], values: [] };
        series.push(current);
      }
      current.steps.push(row.step);
      current.values.push(decodeValue(row.value, row.kind));
    }
    return series;
  }

  // Checkpoints.

  listCheckpoints(runId: number): CheckpointInfo[] {
    const rows = this.db.prepare(`SELECT run_id, step, weights_sha256, created_at FROM checkpoints WHERE run_id = ? ORDER BY step`).all(runId) as Array<{
      run_id: number;
      step: number;
      weights_sha256: string;
      created_at: string;
    }>;
    return rows.map((row) => ({ runId: row.run_id, step: row.step, weightsSha256: row.weights_sha256, createdAt: row.created_at }));
  }

  getCheckpoint(runId: number, step: number): CheckpointRecord | null {
    const row = this.db.prepare(`SELECT * FROM checkpoints WHERE run_id = ? AND step = ?`).get(runId, step) as CheckpointTableRow | undefined;
    return row ? toCheckpointRecord(row) : null;
  }

  latestCheckpoint(runId: number): CheckpointRecord | null {
    const row = this.db.prepare(`SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1`).get(runId) as CheckpointTableRow | undefined;
    return row ? toCheckpointRecord(row) : null;
  }

  // Pair metrics and analysis artefacts, written by core/analysis.

  /** Inserts or replaces pair values in one transaction; rejects a row with runA >= runB. */
  insertPairMetrics(experimentId: number, rows: PairMetricRow[]): void {
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO pair_metrics (experiment_id, run_a, run_b, step, metric, value, kind) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const write = this.db.transaction(() => {
      for (const row of rows) {
        if (row.runA >= row.runB) throw new Error(`pair metric ${row.metric} has runA ${row.runA} >= runB ${row.runB}; store each pair with runA < runB`);
        const { value, kind } = encodeValue(row.value);
        insert.run(experimentId, row.runA, row.runB, row.step, row.metric, value, kind);
      }
    });
    write.immediate();
  }

  listPairMetrics(experimentId: number): { steps: number[]; metrics: string[] } {
    const steps = this.db.prepare(`SELECT DISTINCT step FROM pair_metrics WHERE experiment_id = ? ORDER BY step`).pluck().all(experimentId) as number[];
    const metrics = this.db.prepare(`SELECT DISTINCT metric FROM pair_metrics WHERE experiment_id = ? ORDER BY metric`).pluck().all(experimentId) as string[];
    return { steps, metrics };
  }

  getPairMetrics(experimentId: number, step: number, metrics: string[]): PairMetricTable[] {
    const select = this.db.prepare(
      `SELECT run_a, run_b, value, kind FROM pair_metrics WHERE experiment_id = ? AND step = ? AND metric = ? ORDER BY run_a, run_b`,
    );
    return metrics.map((metric) => {
      const rows = select.all(experimentId, step, metric) as Array<{ run_a: number; run_b: number; value: number | null; kind: string }>;
      return {
        step,
        metric,
        runA: rows.map((row) => row.run_a),
        runB: rows.map((row) => row.run_b),
        values: rows.map((row) => decodeValue(row.value, row.kind)),
      };
    });
  }

  /** Stores a JSON artefact; `subject` is a run id, `a:b` for a pair, or '' for the whole experiment. */
  putArtifact(experimentId: number, step: number, kind: string, subject: string, payload: unknown): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO analysis_artifacts (experiment_id, step, kind, subject, payload) VALUES (?, ?, ?, ?, ?)`)
      .run(experimentId, step, kind, subject, JSON.stringify(payload));
  }

  getArtifacts(experimentId: number, kind: string, step?: number): Array<{ step: number; subject: string; payload: unknown }> {
    const rows = (
      step === undefined
        ? this.db.prepare(`SELECT step, subject, payload FROM analysis_artifacts WHERE experiment_id = ? AND kind = ? ORDER BY step, subject`).all(experimentId, kind)
        : this.db
            .prepare(`SELECT step, subject, payload FROM analysis_artifacts WHERE experiment_id = ? AND kind = ? AND step = ? ORDER BY subject`)
            .all(experimentId, kind, step)
    ) as Array<{ step: number; subject: string; payload: string }>;
    return rows.map((row) => ({ step: row.step, subject: row.subject, payload: JSON.parse(row.payload) as unknown }));
  }
}

interface CheckpointTableRow {
  run_id: number;
  step: number;
  weights: Buffer;
  optimizer_state: Buffer;
  trainer_state: string;
  probe_log_probs: Buffer;
  probe_activations: Buffer | null;
  weights_sha256: string;
  created_at: string;
}

function toCheckpointRecord(row: CheckpointTableRow): CheckpointRecord {
  return {
    runId: row.run_id,
    step: row.step,
    weightsSha256: row.weights_sha256,
    createdAt: row.created_at,
    weights: toBytes(row.weights),
    optimizerState: toBytes(row.optimizer_state),
    trainerState: JSON.parse(row.trainer_state) as unknown,
    probeLogProbs: toBytes(row.probe_log_probs),
    probeActivations: row.probe_activations ? toBytes(row.probe_activations) : null,
  };
}

function toRunRecord(row: RunRow): RunRecord {
  return {
    ...toRunInfo(row),
    experimentId: row.experiment_id,
    config: JSON.parse(row.config) as RunConfig,
    pid: row.pid,
    host: row.host,
    heartbeatAt: row.heartbeat_at,
  };
}
