/**
 * The Service behind the desktop window: the user's database (or `--db PATH`
 * from the command line), a scheduler whose workers run the bundled
 * out/main/worker.js, and pair analysis in out/main/analyse.js as runs finish.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachAnalysis } from '../core/analysis/service-hook';
import { startAnalysisWorker } from '../core/analysis/worker-executor';
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

/** Returns the entry of a worker script bundled beside this main-process bundle, run by Electron's binary as plain Node. */
export function bundledWorkerEntry(name: 'worker.js' | 'analyse.js'): WorkerEntry {
  const bundleFolder = dirname(fileURLToPath(import.meta.url));
  return { modulePath: join(bundleFolder, name), execArgv: [], env: { ELECTRON_RUN_AS_NODE: '1' } };
}

export async function openDesktopBackend(): Promise<DesktopBackend> {
  const dbPath = resolveDatabasePath(databaseArgument(process.argv));
  const service = Service.open({ dbPath, train: { entry: bundledWorkerEntry('worker.js') } });
  const detachAnalysis = attachAnalysis(service, { startExecutor: () => startAnalysisWorker(bundledWorkerEntry('analyse.js')) });
  return {
    api: service,
    close: async () => {
      await detachAnalysis();
      await service.close();
    },
  };
}
