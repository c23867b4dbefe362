/**
 * Runs the analysis after every finished run: the Service's run-finished
 * hook queues the experiment, one analysis at a time per experiment, in a
 * forked analysis worker, and progress goes to subscribers as
 * `analysisProgress` events.
 */
import { createLogger } from '../log';
import type { Service } from '../service';
import { analyseExperiment, type BarrierSteps } from './orchestrate';
import { startAnalysisWorker, startOnFirstJob, type AnalysisExecutor } from './worker-executor';

const log = createLogger('analysis');

export interface AnalysisHookOptions {
  /** Factory of the executor for one analysis pass, by default a forked analysis worker. */
  startExecutor?: () => Promise<AnalysisExecutor>;
  /** Steps that get loss paths and barriers, as in `AnalyseOptions.barrierSteps`. */
  barrierSteps?: BarrierSteps;
}

/**
 * Attaches the analysis to a Service. Returns a function that detaches it
 * and resolves once the analyses in progress have ended.
 */
export function attachAnalysis(service: Service, options: AnalysisHookOptions = {}): () => Promise<void> {
  const startExecutor = options.startExecutor ?? (() => startAnalysisWorker());
  const running = new Map<number, Promise<void>>();
  const pending = new Set<number>();

  const runOnce = async (experimentId: number): Promise<void> => {
    const executor = startOnFirstJob(startExecutor);
    try {
      await analyseExperiment(service.store.db, experimentId, executor.execute, {
        barrierSteps: options.barrierSteps ?? 'all',
        onProgress: (progress) => service.publish({ type: 'analysisProgress', experimentId, done: progress.done, total: progress.total, message: progress.message }),
      });
    } finally {
      await executor.stop();
    }
  };

  // A run that finishes during an analysis marks the experiment pending, so
  // one more pass picks it up once the current one ends.
  const schedule = (experimentId: number): Promise<void> => {
    const current = running.get(experimentId);
    if (current !== undefined) {
      pending.add(experimentId);
      return current;
    }

    const task = (async () => {
      do {
        pending.delete(experimentId);
        try {
          await runOnce(experimentId);
        } catch (error) {
          log.error('analysis failed', { experiment: experimentId, error: (error as Error).message });
          service.publish({ type: 'analysisProgress', experimentId, done: 0, total: 0, message: `analysis failed: ${(error as Error).message}` });
        }
      } while (pending.has(experimentId));
      running.delete(experimentId);
    })();
    running.set(experimentId, task);
    return task;
  };

  const detach = service.onRunFinished((experimentId) => schedule(experimentId));
  return async () => {
    detach();
    await Promise.all(running.values());
  };
}
