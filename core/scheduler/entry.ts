/**
 * Worker entries: the script and flags a worker process is forked with.
 * Under plain Node the entry is the TypeScript source worker/main.ts, loaded
 * through tsx. Inside Electron it is the bundled `worker.js` next to the
 * main-process bundle, run as plain Node with ELECTRON_RUN_AS_NODE=1.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { repositoryRoot } from '../paths';

export interface WorkerEntry {
  /** Script passed to `child_process.fork`. */
  modulePath: string;
  execArgv: string[];
  /** Variables added to the parent's environment. */
  env?: Record<string, string>;
}

/** `--import` flags that let a plain Node process load TypeScript, resolved from this package so any cwd works. */
export function tsxExecArgv(): string[] {
  const loader = createRequire(import.meta.url).resolve('tsx');
  return ['--import', pathToFileURL(loader).href];
}

/** Wraps any TypeScript script as a worker entry run through tsx. */
export function typescriptEntry(modulePath: string, env?: Record<string, string>): WorkerEntry {
  return { modulePath, execArgv: tsxExecArgv(), ...(env ? { env } : {}) };
}

/**
 * Returns the worker entry for this runtime. `SEEDSCOPE_WORKER` replaces it
 * with another script (a `.ts` file runs through tsx), which tests use to
 * drive the CLI with a fake worker.
 */
export function defaultWorkerEntry(): WorkerEntry {
  const override = process.env.SEEDSCOPE_WORKER;
  if (override) {
    const modulePath = path.resolve(override);
    return modulePath.endsWith('.ts') ? typescriptEntry(modulePath) : { modulePath, execArgv: [] };
  }
  if (process.versions.electron) {
    // NOTE: assumes core is bundled into out/main/ beside worker.js, as
    // electron-vite builds it. The Electron shell may pass its own entry.
    const bundleFolder = path.dirname(fileURLToPath(import.meta.url));
    return { modulePath: path.join(bundleFolder, 'worker.js'), execArgv: [], env: { ELECTRON_RUN_AS_NODE: '1' } };
  }
  return typescriptEntry(path.join(repositoryRoot, 'worker', 'main.ts'));
}
