/**
 * Runs step jobs in a forked analysis worker process, so that a crash or an
 * out-of-memory during analysis never takes down the app.
 */
import path from 'node:path';
import { repositoryRoot } from '../paths';
import { typescriptEntry, type WorkerEntry } from '../scheduler/entry';
import { describeExit, WorkerProcess } from '../scheduler/worker-process';
import type { WorkerMessage } from '../../worker/protocol';
import { STEP_ANALYSIS_KIND, type AnalysisReply, type StepAnalysisResult } from './job';
import type { StepExecutor } from './orchestrate';

const READY_TIMEOUT_MS = 60_000;

export function analysisWorkerEntry(): WorkerEntry {
  return typescriptEntry(path.join(repositoryRoot, 'worker', 'analyse', 'main.ts'));
}

/** Step executor with the function that stops what runs it. */
export interface AnalysisExecutor {
  execute: StepExecutor;
  stop: () => Promise<void>;
}

/**
 * Wraps an executor factory so that the executor starts on the first step
 * job. A pass with nothing to compute therefore forks no worker.
 */
export function startOnFirstJob(start: () => Promise<AnalysisExecutor>): AnalysisExecutor {
  let started: Promise<AnalysisExecutor> | null = null;
  return {
    execute: async (payload, onPair) => {
      started ??= start();
      return (await started).execute(payload, onPair);
    },
    // A start that failed has already rejected the step job, so stop has nothing to stop.
    stop: async () => {
      const executor = await started?.catch(() => null);
      await executor?.stop();
    },
  };
}

/**
 * Starts one analysis worker and returns an executor that sends it one job
 * at a time, and a function that stops it.
 */
export async function startAnalysisWorker(entry: WorkerEntry = analysisWorkerEntry()): Promise<AnalysisExecutor> {
  const worker = new WorkerProcess(entry);
  await worker.waitReady(READY_TIMEOUT_MS);
  let nextSeq = 1;

  const execute: StepExecutor = (payload, onPair) =>
    new Promise<StepAnalysisResult>((resolve, reject) => {
      const seq = nextSeq;
      nextSeq += 1;
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
      };
      const onMessage = (message: WorkerMessage) => {
        if (!('seq' in message) || message.seq !== seq) return;
        if (message.type === 'error') {
          cleanup();
          reject(new Error(`analysis of step ${payload.step} failed: ${message.error.message}`));
          return;
        }
        if (message.type !== 'analysisResult') return;
        const reply = message.result as AnalysisReply;
        if (reply.kind === 'progress') {
          onPair(reply.done, reply.total);
          return;
        }
        cleanup();
        resolve(reply.result);
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`analysis worker exited during step ${payload.step} (${describeExit(worker.exited!)})${worker.stderrSuffix()}`));
      };

      worker.on('message', onMessage);
      worker.on('exit', onExit);
      if (!worker.send({ type: 'analyse', seq, job: { kind: STEP_ANALYSIS_KIND, payload } })) {
        cleanup();
        reject(new Error(`analysis worker has exited, so step ${payload.step} was not sent${worker.stderrSuffix()}`));
      }
    });

  const stop = async () => {
    worker.send({ type: 'shutdown' });
    await worker.whenExited();
  };
  return { execute, stop };
}
