import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../core/tensors/safetensors';
import type { ParentMessage, WorkerMessage } from '../../worker/protocol';
import { tinyRunConfig } from './helpers';

const entry = path.resolve(__dirname, '../../worker/main.ts');
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

let child: ChildProcess | undefined;

afterEach(() => {
  if (child !== undefined && child.exitCode === null) child.kill();
  child = undefined;
});

/** Forks the real worker and collects its messages until `until` returns true for one. */
function startWorker(): { worker: ChildProcess; messages: WorkerMessage[]; waitFor: (until: (message: WorkerMessage) => boolean) => Promise<WorkerMessage> } {
  const worker = fork(entry, [], { execArgv: ['--import', tsx], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  child = worker;
  const messages: WorkerMessage[] = [];
  let stderr = '';
  worker.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const waiters: Array<{ until: (message: WorkerMessage) => boolean; resolve: (message: WorkerMessage) => void }> = [];
  worker.on('message', (raw) => {
    const message = raw as WorkerMessage;
    messages.push(message);
    for (const waiter of waiters.filter((candidate) => candidate.until(message))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  const waitFor = (until: (message: WorkerMessage) => boolean) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      const earlier = messages.find(until);
      if (earlier !== undefined) return resolve(earlier);
      waiters.push({ until, resolve });
      worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before the expected message; stderr: ${stderr}`)));
    });
  return { worker, messages, waitFor };
}

// Each test starts a Node process with tsx, which takes seconds on a loaded machine.
describe('worker process', { timeout: 60_000 }, () => {
  it('trains a tiny run over the protocol', async () => {
    const { worker, messages, waitFor } = startWorker();
    const ready = await waitFor((message) => message.type === 'ready');
    expect(ready).toMatchObject({ type: 'ready', pid: worker.pid, protocolVersion: 1 });

    const config = { ...tinyRunConfig({ checkpointSteps: [3, 6] }), backend: 'auto' as const };
    worker.send({ type: 'train', seq: 11, runId: 5, config } satisfies ParentMessage);
    const finished = await waitFor((message) => ['done', 'error', 'diverged'].includes(message.type));

    expect(finished.type).toBe('done');
    const started = messages.find((message) => message.type === 'started');
    expect(started).toMatchObject({ seq: 11, runId: 5, backend: 'wasm' });
    expect(started?.type).toBe('started');
    if (started?.type !== 'started') return;
    expect(started.backendNote).toContain('tensorflow-gpu unavailable');

    const checkpoints = messages.flatMap((message) => (message.type === 'checkpoint' ? [message.checkpoint] : []));
    expect(checkpoints.map((checkpoint) => checkpoint.step)).toEqual([3, 6]);
    const logProbs = decodeSafetensors(checkpoints[1].probeLogProbs).tensors;
    expect(logProbs.map((tensor) => [tensor.name, tensor.shape])).toEqual([['logProbs', [4, 6, 8]]]);
    const activations = decodeSafetensors(checkpoints[1].probeActivations!).tensors;
    expect(activations.map((tensor) => tensor.name)).toEqual(['resid.0', 'resid.1']);

    const progress = messages.filter((message) => message.type === 'progress');
    expect(progress.map((message) => message.type === 'progress' && message.step)).toEqual([2, 4, 6]);
    const logLines = messages.flatMap((message) => (message.type === 'log' ? [message.message] : []));
    expect(logLines.some((line) => /^step=2 loss=\S+ val=\S+ lr=\S+ ms=\S+ tok\/s=\S+$/.test(line))).toBe(true);
    expect(messages.every((message) => !('seq' in message) || message.seq === 11)).toBe(true);
  });

  it('reports a bad text file as an error message', async () => {
    const { worker, waitFor } = startWorker();
    await waitFor((message) => message.type === 'ready');
    const config = tinyRunConfig({ task: { kind: 'text', path: '/nonexistent/corpus.txt' } });
    worker.send({ type: 'train', seq: 2, runId: 9, config } satisfies ParentMessage);

    const error = await waitFor((message) => message.type === 'error');
    expect(error).toMatchObject({ seq: 2, runId: 9 });
    if (error.type !== 'error') return;
    expect(error.error.message).toContain('/nonexistent/corpus.txt was not found');
  });

  it('cancels a run and exits when the parent disconnects', async () => {
    const { worker, waitFor } = startWorker();
    await waitFor((message) => message.type === 'ready');
    worker.send({ type: 'train', seq: 3, runId: 1, config: tinyRunConfig({ training: { steps: 100000, logEvery: 1 } }) } satisfies ParentMessage);
    await waitFor((message) => message.type === 'progress');
    worker.send({ type: 'cancel', seq: 4 } satisfies ParentMessage);

    const cancelled = await waitFor((message) => message.type === 'cancelled');
    expect(cancelled).toMatchObject({ seq: 3, runId: 1 });

    const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
    worker.disconnect();
    expect(await exited).toBe(0);
  });
});
