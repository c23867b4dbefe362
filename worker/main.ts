/**
 * Entry of a training worker process. The scheduler forks it with
 * `child_process.fork(entry, { serialization: 'advanced' })` (under Node with
 * `execArgv: ['--import', 'tsx']`, inside Electron with
 * `ELECTRON_RUN_AS_NODE=1`). The worker sends `ready`, trains one run at a
 * time on `train`, replies with WorkerMessage values, sends a heartbeat every
 * 2 s while training, and exits when the parent disconnects or sends
 * `shutdown`. Failures travel to the parent as `error` messages.
 */
import type { BackendName } from '../core/spec';
import { selectBackend, type BackendChoice } from './backend';
import { errorData, send } from './ipc';
import { PROTOCOL_VERSION, type ParentMessage } from './protocol';
import { train } from './train/trainer';

const HEARTBEAT_MS = 2000;

interface ActiveRun {
  seq: number;
  runId: number;
  cancelled: boolean;
}

let active: ActiveRun | undefined;
let shuttingDown = false;
let backend: { requested: BackendName; choice: BackendChoice } | undefined;

/** Selects the backend the first time, and again only when a run requests a different one. */
async function ensureBackend(requested: BackendName): Promise<BackendChoice> {
  if (backend === undefined || backend.requested !== requested) {
    backend = { requested, choice: await selectBackend(requested) };
  }
  return backend.choice;
}

async function runTraining(message: Extract<ParentMessage, { type: 'train' }>): Promise<void> {
  const { seq, runId, config } = message;
  if (active !== undefined) {
    send({ type: 'error', seq, runId, error: { message: `worker ${process.pid} is already training run ${active.runId}; send train requests one at a time` } });
    return;
  }

  const run: ActiveRun = { seq, runId, cancelled: false };
  active = run;
  const heartbeat = setInterval(() => send({ type: 'heartbeat', seq, runId }), HEARTBEAT_MS);
  try {
    const choice = await ensureBackend(config.backend);
    send(choice.note === undefined ? { type: 'started', seq, runId, backend: choice.backend } : { type: 'started', seq, runId, backend: choice.backend, backendNote: choice.note });

    const outcome = await train(
      config,
      {
        onMetrics: (rows) => send({ type: 'metrics', seq, runId, rows }),
        onProgress: (progress) => send({ type: 'progress', seq, runId, ...progress }),
        onCheckpoint: (checkpoint) => send({ type: 'checkpoint', seq, runId, checkpoint }),
        onLog: (level, text) => send({ type: 'log', seq, runId, level, message: text }),
        isCancelled: () => run.cancelled,
      },
      message.resume === undefined ? {} : { resume: message.resume },
    );

    if (outcome.kind === 'done') send({ type: 'done', seq, runId, summary: outcome.summary });
    if (outcome.kind === 'diverged') send({ type: 'diverged', seq, runId, step: outcome.step, value: outcome.value, message: outcome.message });
    if (outcome.kind === 'cancelled') send({ type: 'cancelled', seq, runId, step: outcome.step });
  } catch (error) {
    send({ type: 'error', seq, runId, error: errorData(error) });
  } finally {
    clearInterval(heartbeat);
    active = undefined;
    if (shuttingDown) process.exit(0);
  }
}

function handle(message: ParentMessage): void {
  switch (message.type) {
    case 'train':
      void runTraining(message);
      return;
    case 'cancel':
      // A cancel with no run in progress has nothing to stop.
      if (active !== undefined) active.cancelled = true;
      return;
    case 'analyse':
      send({ type: 'error', seq: message.seq, error: { message: `analysis job "${message.job.kind}" sent to a training worker; send analysis jobs to worker/analyse/main.ts` } });
      return;
    case 'shutdown':
      shuttingDown = true;
      if (active === undefined) process.exit(0);
      active.cancelled = true;
      return;
    default:
      send({ type: 'error', seq: -1, error: { message: `unknown message type ${JSON.stringify((message as { type?: unknown }).type)}` } });
  }
}

if (process.send === undefined) {
  console.error('worker/main.ts must be started by child_process.fork with an IPC channel; it has no parent to talk to');
  process.exit(2);
}

process.on('message', (message) => handle(message as ParentMessage));
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid, protocolVersion: PROTOCOL_VERSION });
