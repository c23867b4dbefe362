import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Store } from '../../../core/store/store';
import { fakeWorkerEntry, runCliProcess, startCli, waitForOutput } from '../helpers/cli';
import { tempFolder, tinySpec } from '../helpers/temp';
import type { SweepSpecInput } from '../../../core/spec';

const fakeEnv = { SEEDSCOPE_WORKER: fakeWorkerEntry, FAKE_STEP_MS: '2' };

function writeSpec(folder: string, spec: SweepSpecInput | Record<string, unknown>): string {
  const file = path.join(folder, 'spec.json');
  fs.writeFileSync(file, JSON.stringify(spec));
  return file;
}

function weightHashes(dbPath: string, experimentId: number): Array<string | null> {
  const store = Store.open(dbPath);
  const hashes = store.listRuns(experimentId).map((run) => run.weightsSha256);
  store.close();
  return hashes;
}

describe('seedscope run', { timeout: 60_000 }, () => {
  it('prints the experiment id first and a summary', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'cli.db');

    const result = await runCliProcess(['run', writeSpec(folder, tinySpec()), '--db', db, '--workers', '2'], fakeEnv);

    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('experiment 1');
    expect(result.stdout).toMatch(/^run\s+optimizer\s+init\s+data\s+status/m);
    expect(result.stdout).toMatch(/^4 done$/m);
    for (const hash of weightHashes(db, 1)) expect(hash).not.toBeNull();
  });

  it('lists every spec issue and exits 2', async () => {
    const folder = tempFolder();
    const spec = { ...tinySpec(), optimizers: [{ kind: 'sgd', lr: 0 }, { kind: 'adam', beta1: 2 }], probeSize: -1 };

    const result = await runCliProcess(['run', writeSpec(folder, spec), '--db', path.join(folder, 'cli.db')], fakeEnv);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^optimizers\.0\.lr: .*\(received 0\)$/m);
    expect(result.stderr).toMatch(/^optimizers\.1\.beta1: .*\(received 2\)$/m);
    expect(result.stderr).toMatch(/^probeSize: .*\(received -1\)$/m);
    expect(fs.existsSync(path.join(folder, 'cli.db'))).toBe(false);
  });

  it('exits 2 on a missing text file, before queuing', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'cli.db');
    const spec = { ...tinySpec(), task: { kind: 'text', path: 'missing.txt' } };

    const result = await runCliProcess(['run', writeSpec(folder, spec), '--db', db], fakeEnv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`task.path: text file ${path.join(folder, 'missing.txt')} was not found`);
    const store = Store.open(db);
    expect(store.listExperiments()).toEqual([]);
    store.close();
  });

  it('exits 2 on a file that is not JSON', async () => {
    const folder = tempFolder();
    const file = path.join(folder, 'broken.json');
    fs.writeFileSync(file, '{ not json');

    const result = await runCliProcess(['run', file, '--db', path.join(folder, 'cli.db')], fakeEnv);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not valid JSON/);
  });

  it('exits 1 when a run fails', async () => {
    const folder = tempFolder();
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 2 } });

    const result = await runCliProcess(['run', writeSpec(folder, spec), '--db', path.join(folder, 'cli.db'), '--workers', '1'], {
      ...fakeEnv,
      FAKE_FAIL_RUN_ID: '2',
    });

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^1 done, 1 failed$/m);
  });
});

describe('seedscope run outcomes', { timeout: 60_000 }, () => {
  it('exits 0 when a run diverged', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'cli.db');
    const spec = tinySpec({ optimizers: [{ kind: 'sgd' }], seeds: { count: 2 } });

    const result = await runCliProcess(['run', writeSpec(folder, spec), '--db', db, '--workers', '1'], { ...fakeEnv, FAKE_DIVERGE_RUN_ID: '1' });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^1 diverged, 1 done$/m);
    const store = Store.open(db);
    const diverged = store.getRun(1)!;
    store.close();
    expect(diverged.status).toBe('diverged');
    expect(diverged.error).toBe('trainLoss is NaN at step 3');
    expect(diverged.step).toBe(3);
  });
});

describe('seedscope reads', { timeout: 60_000 }, () => {
  it('lists, shows and exports as stable JSON and CSV', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'cli.db');
    await runCliProcess(['run', writeSpec(folder, tinySpec()), '--db', db, '--workers', '2'], fakeEnv);

    const ls = await runCliProcess(['ls', '--json', '--db', db]);
    const experiments = JSON.parse(ls.stdout) as Array<{ id: number; status: string; runCounts: { done: number } }>;
    expect(experiments.map((experiment) => [experiment.id, experiment.status, experiment.runCounts.done])).toEqual([[1, 'done', 4]]);

    const show = await runCliProcess(['--db', db, 'show', '1', '--json']);
    const detail = JSON.parse(show.stdout) as { runs: Array<{ weightsSha256: string; optimizerLabel: string }> };
    expect(detail.runs.map((run) => run.optimizerLabel)).toEqual(['sgd', 'sgd', 'adam', 'adam']);
    expect(detail.runs.map((run) => run.weightsSha256)).toEqual(weightHashes(db, 1));

    const csv = await runCliProcess(['export', '1', '--format', 'csv', '--db', db]);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('run_id,optimizer,init_seed,data_seed,metric,step,value');
    expect(rows).toContain('1,sgd,0,0,opt.nonFinite,10,NaN');
    expect(rows).toContain('1,sgd,0,0,opt.nonFinite,5,-Infinity');

    const json = await runCliProcess(['export', '1', '--format', 'json', '--db', db]);
    const exported = JSON.parse(json.stdout) as { metrics: Array<{ name: string; values: unknown[] }> };
    expect(exported.metrics.find((series) => series.name === 'opt.nonFinite')!.values.slice(0, 2)).toEqual(['-Infinity', 'NaN']);
  });

  it('exits quietly when the reader closes the pipe', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'cli.db');
    const spec = tinySpec({ training: { steps: 400, batchSize: 4, logEvery: 1, validationSize: 8 } });
    await runCliProcess(['run', writeSpec(folder, spec), '--db', db, '--workers', '2', '--no-analysis'], { ...fakeEnv, FAKE_STEP_MS: '0' });

    // Closing the read end after the first chunk leaves most of the CSV unwritten, as `| head -1` does.
    const cli = startCli(['export', '1', '--format', 'csv', '--db', db]);
    cli.child.stdout!.once('data', () => cli.child.stdout!.destroy());
    const result = await cli.done;

    expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(result.code).toBe(0);
  });

  it('reports an unknown experiment with exit 2', async () => {
    const folder = tempFolder();
    const result = await runCliProcess(['show', '42', '--db', path.join(folder, 'cli.db')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/experiment 42 not found/);
  });
});

describe('seedscope resume', { timeout: 60_000 }, () => {
  it('resumes a killed sweep to identical weights', async () => {
    const folder = tempFolder();
    const spec = tinySpec({ training: { steps: 240, logEvery: 10 }, checkpoints: { count: 6 } });
    const specFile = writeSpec(folder, spec);
    const env = { ...fakeEnv, FAKE_STEP_MS: '3' };

    const referenceDb = path.join(folder, 'reference.db');
    expect((await runCliProcess(['run', specFile, '--db', referenceDb, '--workers', '2'], env)).code).toBe(0);

    const db = path.join(folder, 'killed.db');
    const cli = startCli(['run', specFile, '--db', db, '--workers', '2'], env);
    await waitForOutput(cli, /run 1 sgd seed 0: done/);
    cli.child.kill('SIGKILL');
    await cli.done;

    const interrupted = Store.open(db);
    const statuses = interrupted.listRuns(1).map((run) => run.status);
    interrupted.close();
    expect(statuses).toContain('running');

    const resumed = await runCliProcess(['resume', '1', '--db', db, '--workers', '2'], env);
    expect(resumed.code).toBe(0);
    expect(weightHashes(db, 1)).toEqual(weightHashes(referenceDb, 1));
  });

  it('stops on SIGINT and leaves the runs resumable', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'cli.db');
    const spec = tinySpec({ training: { steps: 2000, logEvery: 10 } });
    const cli = startCli(['run', writeSpec(folder, spec), '--db', db, '--workers', '2'], { ...fakeEnv, FAKE_STEP_MS: '5' });
    await waitForOutput(cli, /started/);

    cli.child.kill('SIGINT');
    const result = await cli.done;

    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/continue with: seedscope resume 1 --db/);
    const store = Store.open(db);
    for (const run of store.listRuns(1)) expect(run.status).toBe('queued');
    store.close();
  });
});

describe('seedscope cancel', { timeout: 60_000 }, () => {
  it('cancels a sweep running in another process', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'cli.db');
    const spec = tinySpec({ training: { steps: 5000, logEvery: 10 } });
    const cli = startCli(['run', writeSpec(folder, spec), '--db', db, '--workers', '2'], { ...fakeEnv, FAKE_STEP_MS: '5' });
    await waitForOutput(cli, /started/);

    const cancel = await runCliProcess(['cancel', '1', '--db', db]);
    const result = await cli.done;

    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(/experiment 1: 4 of 4 runs cancelled/);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^4 cancelled$/m);
  });
});

describe('two processes on one database', { timeout: 60_000 }, () => {
  it('reads beside a running sweep without errors', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'cli.db');
    const spec = tinySpec({ training: { steps: 300, logEvery: 1 }, seeds: { count: 3 } });
    const cli = startCli(['run', writeSpec(folder, spec), '--db', db, '--workers', '2'], { ...fakeEnv, FAKE_STEP_MS: '1' });
    await waitForOutput(cli, /started/);

    const reads: number[] = [];
    while (cli.child.exitCode === null) {
      const [ls, show] = await Promise.all([runCliProcess(['ls', '--json', '--db', db]), runCliProcess(['show', '1', '--json', '--db', db])]);
      expect(ls.stderr).toBe('');
      expect(show.stderr).toBe('');
      reads.push(ls.code ?? -1, show.code ?? -1);
    }
    const result = await cli.done;

    expect(result.code).toBe(0);
    expect(reads.length).toBeGreaterThan(0);
    for (const code of reads) expect(code).toBe(0);
  });
});

describe('seedscope database choice', { timeout: 60_000 }, () => {
  it('uses SEEDSCOPE_DB when --db is absent', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'from-env.db');

    const result = await runCliProcess(['ls', '--json'], { SEEDSCOPE_DB: db });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([]);
    expect(fs.existsSync(db)).toBe(true);
  });

  it('rejects a database from a newer version', async () => {
    const folder = tempFolder();
    const db = path.join(folder, 'newer.db');
    const raw = new Database(db);
    raw.pragma('user_version = 999');
    raw.close();

    const result = await runCliProcess(['ls', '--db', db]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/schema version 999.*upgrade Seedscope/);
  });
});
