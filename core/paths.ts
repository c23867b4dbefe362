/**
 * Where Seedscope keeps its files: the default database in the platform's
 * app-data folder, the repository root, and the native SQLite binding folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Returns the nearest folder at or above `start` whose package.json is
 * Seedscope's. From source that is one level above core/; from the Electron
 * main bundle, which has this module inlined in out/main/index.js, two levels.
 */
export function findRepositoryRoot(start: string): string {
  for (let folder = start; ; folder = path.dirname(folder)) {
    const manifest = path.join(folder, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'seedscope') return folder;
    if (path.dirname(folder) === folder) throw new Error(`Seedscope's package.json was not found in ${start} or any folder above it`);
  }
}

/** Repository root: the folder with migrations/, worker/, native/ and out/. */
export const repositoryRoot = findRepositoryRoot(path.dirname(fileURLToPath(import.meta.url)));

export interface PlatformFolders {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  homedir: string;
}

function currentFolders(): PlatformFolders {
  return { platform: process.platform, env: process.env, homedir: os.homedir() };
}

/** Returns the per-user data folder of Seedscope on this platform. */
export function appDataFolder(folders: PlatformFolders = currentFolders()): string {
  const { platform, env, homedir } = folders;
  if (platform === 'darwin') return path.join(homedir, 'Library', 'Application Support', 'Seedscope');
  if (platform === 'win32') {
    const roaming = env.APPDATA ?? path.join(homedir, 'AppData', 'Roaming');
    return path.win32.join(roaming, 'Seedscope');
  }
  const dataHome = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(homedir, '.local', 'share');
  return path.join(dataHome, 'seedscope');
}

/**
 * Resolves the database path: an explicit `--db` wins, then the `SEEDSCOPE_DB`
 * environment variable, then `seedscope.db` in the app-data folder.
 */
export function resolveDatabasePath(explicit?: string, folders: PlatformFolders = currentFolders()): string {
  if (explicit) return path.resolve(explicit);
  const fromEnv = folders.env.SEEDSCOPE_DB;
  if (fromEnv) return path.resolve(fromEnv);
  const folder = appDataFolder(folders);
  return folders.platform === 'win32' ? path.win32.join(folder, 'seedscope.db') : path.join(folder, 'seedscope.db');
}

export interface RuntimeAbi {
  /** `electron` inside Electron (main process or ELECTRON_RUN_AS_NODE), else `node`. */
  runtime: 'node' | 'electron';
  /** `process.versions.modules`, the native module ABI number. */
  abi: string;
  platform: NodeJS.Platform;
  arch: string;
}

export function currentRuntimeAbi(): RuntimeAbi {
  return {
    runtime: process.versions.electron ? 'electron' : 'node',
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
  };
}

/**
 * Path of the better-sqlite3 binding built for one runtime and ABI, as
 * scripts/native-abi.mjs lays them out: `native/<runtime>-<abi>-<platform>-<arch>/better_sqlite3.node`.
 */
export function nativeBindingPath(root: string, abi: RuntimeAbi): string {
  return path.join(root, 'native', `${abi.runtime}-${abi.abi}-${abi.platform}-${abi.arch}`, 'better_sqlite3.node');
}
