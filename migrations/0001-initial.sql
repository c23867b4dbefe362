-- Initial schema. Every table is STRICT so that a value of the wrong type is
-- rejected instead of silently converted.

CREATE TABLE experiments (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  notes       TEXT NOT NULL DEFAULT '',
  -- JSON array of strings.
  tags        TEXT NOT NULL DEFAULT '[]',
  -- The validated sweep spec, defaults filled in, as JSON.
  spec        TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  archived    INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE runs (
  id               INTEGER PRIMARY KEY,
  experiment_id    INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  -- Position in the sweep's expansion order; stable across resumes.
  ordinal          INTEGER NOT NULL,
  -- The resolved RunConfig as JSON.
  config           TEXT NOT NULL,
  optimizer_label  TEXT NOT NULL,
  init_seed        INTEGER NOT NULL,
  data_seed        INTEGER NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'diverged', 'cancelled')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  backend          TEXT,
  host             TEXT,
  pid              INTEGER,
  heartbeat_at     TEXT,
  step             INTEGER NOT NULL DEFAULT 0,
  total_steps      INTEGER NOT NULL,
  error            TEXT,
  started_at       TEXT,
  finished_at      TEXT,
  wall_seconds     REAL,
  final_train_loss REAL,
  final_val_loss   REAL,
  final_true_kl    REAL,
  -- SHA-256 of the final weights blob, hex.
  weights_sha256   TEXT,
  UNIQUE (experiment_id, ordinal)
) STRICT;

CREATE INDEX runs_by_status ON runs (status);

-- NaN cannot be stored in a SQLite REAL (it becomes NULL), so each value keeps
-- its kind beside it: 'finite', 'nan', 'inf' or '-inf'.
CREATE TABLE run_metrics (
  run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step    INTEGER NOT NULL,
  name    TEXT NOT NULL,
  value   REAL,
  kind    TEXT NOT NULL DEFAULT 'finite' CHECK (kind IN ('finite', 'nan', 'inf', '-inf')),
  PRIMARY KEY (run_id, name, step)
) STRICT, WITHOUT ROWID;

CREATE TABLE checkpoints (
  run_id             INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step               INTEGER NOT NULL,
  -- safetensors blobs.
  weights            BLOB NOT NULL,
  optimizer_state    BLOB NOT NULL,
  -- JSON: RNG state and data position, enough to resume bit-exactly.
  trainer_state      TEXT NOT NULL,
  probe_log_probs    BLOB NOT NULL,
  probe_activations  BLOB,
  weights_sha256     TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  PRIMARY KEY (run_id, step)
) STRICT;

CREATE TABLE run_logs (
  id      INTEGER PRIMARY KEY,
  run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  at      TEXT NOT NULL,
  level   TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
  message TEXT NOT NULL
) STRICT;

CREATE INDEX run_logs_by_run ON run_logs (run_id, id);

-- Pair metrics: run_a < run_b always, so each unordered pair is stored once;
-- directed metrics carry the direction in their name (klAB = KL(a‖b)).
CREATE TABLE pair_metrics (
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  run_a         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  run_b         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step          INTEGER NOT NULL,
  metric        TEXT NOT NULL,
  value         REAL,
  kind          TEXT NOT NULL DEFAULT 'finite' CHECK (kind IN ('finite', 'nan', 'inf', '-inf')),
  CHECK (run_a < run_b),
  PRIMARY KEY (experiment_id, step, metric, run_a, run_b)
) STRICT, WITHOUT ROWID;

-- Per-run analysis results (KL to the true distribution, to the ensemble mean,
-- MDS coordinates) and larger per-pair artefacts (permutations, loss curves) as JSON.
CREATE TABLE analysis_artifacts (
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  step          INTEGER NOT NULL,
  kind          TEXT NOT NULL,
  -- Run id, or 'a:b' for a pair, or '' for the experiment as a whole.
  subject       TEXT NOT NULL,
  payload       TEXT NOT NULL,
  PRIMARY KEY (experiment_id, step, kind, subject)
) STRICT, WITHOUT ROWID;
