/**
 * Keeps pair distances up to date while a Service trains: after each run that
 * ends done, the experiment's missing pairs are computed in one analysis
 * worker process, one experiment at a time, and the progress is published as
 * `analysisProgress` events. Used by `seedscope serve` and the desktop app.
 */
import { analyseExperiment } from '../analysis/orchestrate';
import { analysisWorkerEntry, startAnalysisWorker } from '../analysis/worker-executor';
import { createLogger } from '../log';
import type { WorkerEntry } from '../scheduler/entry';
import type { Service } from '../service';

const log = createLogger('serve.analysis');

export interface AutoAnalysis {
  /** Resolves when no analysis is pending or running. */
  idle(): Promise<void>;
  /** Waits for the current job, then stops the analysis worker. */
  stop(): Promise<void>;
}

export function attachAutoAnalysis(service: Service, entry: WorkerEntry = analysisWorkerEntry()): AutoAnalysis {
  let worker: Awaited<ReturnType<typeof startAnalysisWorker>> | null = null;
  let stopped = false;
  const pending = new Set<number>();
  let chain: Promise<void> = Promise.resolve();

  const analyse = async (experimentId: number): Promise<void> => {
    pending.delete(experimentId);
    if (stopped) return;
    worker ??= await startAnalysisWorker(entry);
    const summary = await analyseExperiment(service.store.db, experimentId, worker.execute, {
      onProgress: (progress) => service.publish({ type: 'analysisProgress', ...progress }),
    });
    log.info('analysis finished', { experimentId, pairs: summary.pairsComputed, steps: summary.steps.length });
    for (const warning of summary.warnings) log.warn(warning, { experimentId });
  };

  const schedule = (experimentId: number): void => {
    // A run that finishes while this experiment waits in the queue joins that pass.
    if (pending.has(experimentId)) return;
    pending.add(experimentId);
    chain = chain.then(() =>
      analyse(experimentId).catch((error: unknown) => {
        log.error('analysis failed', { experimentId, error: (error as Error).message });
        service.publish({ type: 'analysisProgress', experimentId, done: 0, total: 0, message: `analysis failed: ${(error as Error).message}` });
      }),
    );
  };

  const removeHook = service.onRunFinished((experimentId) => schedule(experimentId));

  return {
    idle: () => chain,
    stop: async () => {
      removeHook();
      stopped = true;
      await chain;
      await worker?.stop();
      worker = null;
    },
  };
}
