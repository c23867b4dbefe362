/**
 * Worker entries: the script and flags a worker process is forked with.
 * By default the entry is the TypeScript source worker/main.ts, loaded
 * through tsx. The desktop shell passes its bundled worker instead
 * (electron/backend.ts).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
 * Returns the worker entry for plain Node. `SEEDSCOPE_WORKER` replaces it
 * with another script (a `.ts` file runs through tsx), which tests use to
 * drive the CLI with a fake worker.
 */
export function defaultWorkerEntry(): WorkerEntry {
  const override = process.env.SEEDSCOPE_WORKER;
  if (override) {
    const modulePath = path.resolve(override);
    return modulePath.endsWith('.ts') ? typescriptEntry(modulePath) : { modulePath, execArgv: [] };
  }
  return typescriptEntry(path.join(repositoryRoot, 'worker', 'main.ts'));
}
