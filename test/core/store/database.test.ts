import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { chooseNativeBinding, loadMigrations, NewerDatabaseError, openDatabase } from '../../../core/store/database';
import { nativeBindingPath } from '../../../core/paths';
import { tempDatabasePath, tempFolder } from '../helpers/temp';

describe('openDatabase', () => {
  it('migrates an empty file to the newest version', () => {
    const file = tempDatabasePath();
    const db = openDatabase(file);
    const latest = loadMigrations().length;

    expect(db.pragma('user_version', { simple: true })).toBe(latest);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all();
    expect(tables).toEqual(['analysis_artifacts', 'checkpoints', 'experiments', 'pair_metrics', 'run_logs', 'run_metrics', 'runs']);
    db.close();
  });

  it('opens a migrated file again without changes', () => {
    const file = tempDatabasePath();
    openDatabase(file).close();
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(loadMigrations().length);
    db.close();
  });

  it('rejects a newer database without changing it', () => {
    const file = tempDatabasePath();
    const raw = new Database(file);
    raw.exec(`CREATE TABLE future (x INTEGER) STRICT; INSERT INTO future VALUES (42);`);
    raw.pragma('user_version = 999');
    raw.close();
    const before = fs.readFileSync(file);
    const filesBefore = fs.readdirSync(path.dirname(file)).sort();

    expect(() => openDatabase(file)).toThrow(NewerDatabaseError);
    expect(() => openDatabase(file)).toThrow(/schema version 999.*supports up to \d+/);

    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(filesBefore);
  });

  it('applies each migration in its own transaction', () => {
    const folder = tempFolder();
    fs.writeFileSync(path.join(folder, '0001-first.sql'), 'CREATE TABLE a (x INTEGER) STRICT;');
    fs.writeFileSync(path.join(folder, '0002-broken.sql'), 'CREATE TABLE b (x INTEGER) STRICT; THIS IS NOT SQL;');
    const file = path.join(folder, 'test.db');

    expect(() => openDatabase(file, { migrationsFolder: folder })).toThrow();

    const raw = new Database(file);
    expect(raw.pragma('user_version', { simple: true })).toBe(1);
    expect(raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all()).toEqual(['a']);
    raw.close();
  });

  it('rejects a gap in migration numbers', () => {
    const folder = tempFolder();
    fs.writeFileSync(path.join(folder, '0001-first.sql'), 'SELECT 1;');
    fs.writeFileSync(path.join(folder, '0003-third.sql'), 'SELECT 1;');
    expect(() => loadMigrations(folder)).toThrow(/out of sequence; expected number 2/);
  });
});

describe('chooseNativeBinding', () => {
  const abi = { runtime: 'electron' as const, abi: '143', platform: 'linux' as NodeJS.Platform, arch: 'x64' };

  it('picks the build for the runtime and ABI', () => {
    const expected = nativeBindingPath('/repo', abi);
    expect(expected).toBe(path.join('/repo', 'native', 'electron-143-linux-x64', 'better_sqlite3.node'));
    expect(chooseNativeBinding('/repo', abi, (file) => file === expected)).toBe(expected);
  });

  it('falls back to the default lookup when the build is absent', () => {
    expect(chooseNativeBinding('/repo', abi, () => false)).toBeUndefined();
  });

  it('distinguishes node from electron builds of one ABI', () => {
    const nodePath = nativeBindingPath('/repo', { ...abi, runtime: 'node' });
    expect(chooseNativeBinding('/repo', abi, (file) => file === nodePath)).toBeUndefined();
  });
});
