/**
 * Opening the SQLite file: native binding choice, pragmas, and the migration
 * runner. Migrations are `migrations/NNNN-name.sql`, applied in numeric order
 * in one transaction each. The database's `PRAGMA user_version` is the number
 * of the last one applied.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createLogger } from '../log';
import { currentRuntimeAbi, nativeBindingPath, repositoryRoot, type RuntimeAbi } from '../paths';

const log = createLogger('store');

export type SqliteDatabase = Database.Database;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const defaultMigrationsFolder = path.join(repositoryRoot, 'migrations');

/** Thrown when the file was written by a newer Seedscope; the file is left untouched. */
export class NewerDatabaseError extends Error {
  constructor(
    readonly file: string,
    readonly databaseVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `database ${file} has schema version ${databaseVersion}, but this Seedscope supports up to ${supportedVersion}; ` +
        'upgrade Seedscope or open another database with --db',
    );
    this.name = 'NewerDatabaseError';
  }
}

/** Reads the migration files of a folder, sorted by their number. */
export function loadMigrations(folder: string = defaultMigrationsFolder): Migration[] {
  const migrations: Migration[] = [];
  for (const file of fs.readdirSync(folder)) {
    const match = /^(\d{4})-([\w-]+)\.sql$/.exec(file);
    if (!match) continue;
    migrations.push({ version: Number(match[1]), name: match[2]!, sql: fs.readFileSync(path.join(folder, file), 'utf8') });
  }
  migrations.sort((a, b) => a.version - b.version);

  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration ${migration.version}-${migration.name} in ${folder} is out of sequence; expected number ${index + 1}`);
    }
  });
  return migrations;
}

/**
 * Picks the better-sqlite3 binding built for this runtime by
 * scripts/native-abi.mjs, or undefined to use better-sqlite3's own lookup
 * (node_modules/better-sqlite3/build) when that folder has no build.
 */
export function chooseNativeBinding(
  root: string = repositoryRoot,
  abi: RuntimeAbi = currentRuntimeAbi(),
  exists: (file: string) => boolean = fs.existsSync,
): string | undefined {
  const candidate = nativeBindingPath(root, abi);
  return exists(candidate) ? candidate : undefined;
}

export interface OpenOptions {
  migrationsFolder?: string;
  /** Milliseconds a statement waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating when absent) and migrates a database. Rejects a database
 * whose user_version is above the newest migration without writing to it.
 */
export function openDatabase(file: string, options: OpenOptions = {}): SqliteDatabase {
  const migrations = loadMigrations(options.migrationsFolder);
  const supportedVersion = migrations.length;
  fs.mkdirSync(path.dirname(file), { recursive: true });

  const nativeBinding = chooseNativeBinding();
  const db = new Database(file, nativeBinding ? { nativeBinding } : {});
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);

    // Read the version before any pragma that writes (journal_mode), so a
    // newer database is rejected without a single byte changed.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > supportedVersion) throw new NewerDatabaseError(file, version, supportedVersion);

    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    applyMigrations(db, migrations, version, file);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function applyMigrations(db: SqliteDatabase, migrations: Migration[], fromVersion: number, file: string): void {
  for (const migration of migrations.slice(fromVersion)) {
    // BEGIN IMMEDIATE takes the write lock first, so two processes opening a
    // fresh file at once cannot both apply the same migration.
    const apply = db.transaction(() => {
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current >= migration.version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    });
    apply.immediate();
    log.info('applied migration', { file, version: migration.version, name: migration.name });
  }
}
