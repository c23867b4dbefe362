/**
 * The Service behind the desktop window: the user's database (or `--db PATH`
 * from the command line) with a scheduler whose workers are the bundled
 * out/main/worker.js, run by Electron's own binary as plain Node.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Api } from '../core/api';
import { resolveDatabasePath } from '../core/paths';
import type { WorkerEntry } from '../core/scheduler/entry';
import { Service } from '../core/service';

export interface DesktopBackend {
  api: Api;
  close(): Promise<void>;
}

/** Reads `--db PATH` or `--db=PATH` from the arguments Electron was started with. */
export function databaseArgument(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--db') return argv[i + 1];
    if (arg.startsWith('--db=')) return arg.slice('--db='.length);
  }
  return undefined;
}

export function desktopWorkerEntry(): WorkerEntry {
  const bundleFolder = dirname(fileURLToPath(import.meta.url));
  return { modulePath: join(bundleFolder, 'worker.js'), execArgv: [], env: { ELECTRON_RUN_AS_NODE: '1' } };
}

export async function openDesktopBackend(): Promise<DesktopBackend> {
  const dbPath = resolveDatabasePath(databaseArgument(process.argv));
  const service = Service.open({ dbPath, train: { entry: desktopWorkerEntry() } });
  return { api: service, close: () => service.close() };
}
