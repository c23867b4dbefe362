/**
 * The analysis's reads and writes on the SQLite store, on a better-sqlite3
 * handle. Pair metrics go to `pair_metrics` (run_a < run_b, non-finite values
 * kept through the `kind` column); JSON payloads go to `analysis_artifacts`,
 * where NaN and ±Infinity are written as the strings "NaN", "Infinity" and
 * "-Infinity".
 */
import type Database from 'better-sqlite3';
import type { RunConfig } from '../spec';
import { decodeValue, encodeValue } from '../store/values';
import type { ArtifactValue, PairValue } from './job';

export interface AnalysableRun {
  runId: number;
  config: RunConfig;
  /** Checkpoint steps stored for the run, ascending. */
  steps: number[];
}

export interface CheckpointBlobs {
  weights: Uint8Array;
  probeLogProbs: Uint8Array;
  probeActivations: Uint8Array | null;
}

export interface StoredPairValue extends PairValue {
  step: number;
}

/** Finished runs of an experiment (status done) with their checkpoint steps, by ascending run id. */
export function listAnalysableRuns(db: Database.Database, experimentId: number): AnalysableRun[] {
  const rows = db
    .prepare(`SELECT id, config FROM runs WHERE experiment_id = ? AND status = 'done' ORDER BY id`)
    .all(experimentId) as Array<{ id: number; config: string }>;
  const steps = db.prepare('SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step');
  return rows.map((row) => ({
    runId: row.id,
    config: JSON.parse(row.config) as RunConfig,
    steps: (steps.all(row.id) as Array<{ step: number }>).map((entry) => entry.step),
  }));
}

export function experimentExists(db: Database.Database, experimentId: number): boolean {
  return db.prepare('SELECT 1 FROM experiments WHERE id = ?').get(experimentId) !== undefined;
}

export function readCheckpointBlobs(db: Database.Database, runId: number, step: number): CheckpointBlobs {
  const row = db
    .prepare('SELECT weights, probe_log_probs, probe_activations FROM checkpoints WHERE run_id = ? AND step = ?')
    .get(runId, step) as { weights: Buffer; probe_log_probs: Buffer; probe_activations: Buffer | null } | undefined;
  if (row === undefined) throw new Error(`checkpoint of run ${runId} at step ${step} not found`);
  return {
    weights: toBytes(row.weights),
    probeLogProbs: toBytes(row.probe_log_probs),
    probeActivations: row.probe_activations === null ? null : toBytes(row.probe_activations),
  };
}

/** Pairs `a:b` that already have a value of `metric` at `step`. */
export function storedPairs(db: Database.Database, experimentId: number, step: number, metric: string): Set<string> {
  const rows = db
    .prepare('SELECT run_a, run_b FROM pair_metrics WHERE experiment_id = ? AND step = ? AND metric = ?')
    .all(experimentId, step, metric) as Array<{ run_a: number; run_b: number }>;
  return new Set(rows.map((row) => `${row.run_a}:${row.run_b}`));
}

/** Writes one step's results in a single transaction, replacing earlier values of the same keys. */
/** Pairs stored per checkpoint step, counted by a metric that every computed pair has. */
export function storedPairCounts(db: Database.Database, experimentId: number, metric: string): Map<number, number> {
  const rows = db
    .prepare(`SELECT step, COUNT(*) AS pairs FROM pair_metrics WHERE experiment_id = ? AND metric = ? GROUP BY step ORDER BY step`)
    .all(experimentId, metric) as Array<{ step: number; pairs: number }>;
  return new Map(rows.map((row) => [row.step, row.pairs]));
}

export function writeStepResults(
  db: Database.Database,
  experimentId: number,
  step: number,
  pairValues: PairValue[],
  artifacts: ArtifactValue[],
): void {
  const insertPair = db.prepare(
    'INSERT OR REPLACE INTO pair_metrics (experiment_id, run_a, run_b, step, metric, value, kind) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertArtifact = db.prepare(
    'INSERT OR REPLACE INTO analysis_artifacts (experiment_id, step, kind, subject, payload) VALUES (?, ?, ?, ?, ?)',
  );

  db.transaction(() => {
    for (const row of pairValues) {
      if (!(row.runA < row.runB)) throw new Error(`pair ${row.runA}:${row.runB} must have runA < runB`);
      const { value, kind } = encodeValue(row.value);
      insertPair.run(experimentId, row.runA, row.runB, step, row.metric, value, kind);
    }
    for (const artifact of artifacts) {
      insertArtifact.run(experimentId, step, artifact.kind, artifact.subject, stringifyPayload(artifact.payload));
    }
  })();
}

/** Reads every pair value of an experiment (or one step), ordered by step, metric, run a, run b. */
export function readPairValues(db: Database.Database, experimentId: number, step?: number): StoredPairValue[] {
  const filter = step === undefined ? '' : ' AND step = ?';
  const parameters = step === undefined ? [experimentId] : [experimentId, step];
  const rows = db
    .prepare(`SELECT run_a, run_b, step, metric, value, kind FROM pair_metrics WHERE experiment_id = ?${filter} ORDER BY step, metric, run_a, run_b`)
    .all(...parameters) as Array<{ run_a: number; run_b: number; step: number; metric: string; value: number | null; kind: string }>;
  return rows.map((row) => ({ runA: row.run_a, runB: row.run_b, step: row.step, metric: row.metric, value: decodeValue(row.value, row.kind) }));
}

export function readArtifacts(db: Database.Database, experimentId: number, kind: string, step?: number): Array<{ step: number; subject: string; payload: unknown }> {
  const filter = step === undefined ? '' : ' AND step = ?';
  const parameters = step === undefined ? [experimentId, kind] : [experimentId, kind, step];
  const rows = db
    .prepare(`SELECT step, subject, payload FROM analysis_artifacts WHERE experiment_id = ? AND kind = ?${filter} ORDER BY step, subject`)
    .all(...parameters) as Array<{ step: number; subject: string; payload: string }>;
  return rows.map((row) => ({ step: row.step, subject: row.subject, payload: parsePayload(row.payload) }));
}

/** Deletes every pair metric and artefact of an experiment, for a full recomputation. */
export function clearAnalysis(db: Database.Database, experimentId: number): void {
  db.transaction(() => {
    db.prepare('DELETE FROM pair_metrics WHERE experiment_id = ?').run(experimentId);
    db.prepare('DELETE FROM analysis_artifacts WHERE experiment_id = ?').run(experimentId);
  })();
}

/** JSON with NaN and ±Infinity kept as the strings "NaN", "Infinity" and "-Infinity". */
export function stringifyPayload(payload: unknown): string {
  return JSON.stringify(payload, (_key, value: unknown) => {
    if (typeof value !== 'number' || Number.isFinite(value)) return value;
    if (Number.isNaN(value)) return 'NaN';
    return value > 0 ? 'Infinity' : '-Infinity';
  });
}

/** Inverse of `stringifyPayload`. */
export function parsePayload(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    return value;
  });
}

function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
