/**
 * The scheduler: takes queued runs from the database, trains each in a pool
 * of worker processes and writes everything they report. It is the single
 * writer of run progress, and workers never open the database.
 *
 * A run whose worker exits without `done` is requeued until it has used
 * `maxAttempts`, then marked failed with the exit and the worker's last
 * stderr lines. A worker silent for `heartbeatTimeoutMs` is killed and counts
 * as a crash. A requeued run continues from its last committed checkpoint.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { RunStatus } from '../api';
import type { ResumeState, WorkerMessage } from '../../worker/protocol';
import { createLogger } from '../log';
import type { RunRecord, Store } from '../store/store';
import { defaultWorkerEntry, type WorkerEntry } from './entry';
import { requeueInterruptedRuns } from './recovery';
import { describeExit, WorkerProcess, type WorkerExit } from './worker-process';

const log = createLogger('scheduler');

/** Runs driven by any scheduler in this process, so recovery never takes a live one. */
const runsDrivenHere = new Set<number>();

export interface SchedulerOptions {
  /** Worker processes; defaults to the number of CPU cores. */
  workers?: number;
  entry?: WorkerEntry;
  /** Only runs of these experiments are taken; all experiments when absent. */
  experimentIds?: number[];
  maxAttempts?: number;
  /** A busy worker that sends nothing for this long is killed. */
  heartbeatTimeoutMs?: number;
  /** Time a worker gets to start and send `ready`. */
  startupTimeoutMs?: number;
  /** Time a worker gets to exit after `cancel` or `shutdown` before it is killed. */
  stopGraceMs?: number;
  /** Interval of the checks for silent workers, cancels made by other processes and new queued runs. */
  pollIntervalMs?: number;
  /** A running run of another process whose heartbeat is older than this is taken over. */
  staleAfterMs?: number;
}

export interface RunProgressEvent {
  experimentId: number;
  runId: number;
  step: number;
  totalSteps: number;
  loss: number;
  tokensPerSecond: number;
}

export interface RunEndedEvent {
  experimentId: number;
  runId: number;
  status: RunStatus;
  error: string | null;
}

export interface SchedulerEvents {
  runStarted: [RunRecord];
  runProgress: [RunProgressEvent];
  /** A run reached a final status here: done, diverged, failed or cancelled. */
  runEnded: [RunEndedEvent];
  runRequeued: [{ experimentId: number; runId: number; reason: string }];
  /** Nothing is running here and nothing this scheduler may take is queued. */
  idle: [];
}

interface ActiveRun {
  run: RunRecord;
  seq: number;
  lastMessageAt: number;
  lastHeartbeatWriteAt: number;
  cancelDeadline: number | null;
  killReason: string | null;
}

interface Slot {
  index: number;
  worker: WorkerProcess | null;
  active: ActiveRun | null;
  /** A claimed run waiting for its worker to start. */
  starting: RunRecord | null;
}

const HEARTBEAT_WRITE_INTERVAL_MS = 2000;

export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly workerCount: number;
  private readonly entry: WorkerEntry;
  private readonly options: Required<Omit<SchedulerOptions, 'workers' | 'entry' | 'experimentIds'>>;
  private experimentIds: number[] | undefined;
  private readonly slots: Slot[];
  private readonly host = os.hostname();
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopping = false;
  private pumping = false;
  private idleAnnounced = false;

  constructor(
    private readonly store: Store,
    options: SchedulerOptions = {},
  ) {
    super();
    this.workerCount = Math.max(1, options.workers ?? os.availableParallelism());
    this.entry = options.entry ?? defaultWorkerEntry();
    this.experimentIds = options.experimentIds ? [...options.experimentIds] : undefined;
    this.options = {
      maxAttempts: options.maxAttempts ?? 3,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 120_000,
      startupTimeoutMs: options.startupTimeoutMs ?? 120_000,
      stopGraceMs: options.stopGraceMs ?? 5000,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      staleAfterMs: options.staleAfterMs ?? 10 * 60_000,
    };
    this.slots = Array.from({ length: this.workerCount }, (_, index) => ({ index, worker: null, active: null, starting: null }));
  }

  /** Requeues interrupted runs, then starts taking queued ones. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;

    const requeued = this.recoverInterrupted();
    if (requeued.length > 0) log.info('requeued interrupted runs', { runs: requeued.join(',') });

    this.timer = setInterval(() => this.tick(), this.options.pollIntervalMs);
    this.pump();
  }

  /** Lets this scheduler take runs of one more experiment (no-op when it takes all). */
  watchExperiment(experimentId: number): void {
    if (this.experimentIds && !this.experimentIds.includes(experimentId)) this.experimentIds.push(experimentId);
    this.pump();
  }

  recoverInterrupted(): number[] {
    return requeueInterruptedRuns(this.store, {
      host: this.host,
      ownRunIds: runsDrivenHere,
      staleAfterMs: this.options.staleAfterMs,
      ...(this.experimentIds ? { experimentIds: this.experimentIds } : {}),
    });
  }

  /** Number of runs being trained by this scheduler now. */
  get activeRunCount(): number {
    return this.slots.filter((slot) => slot.active).length;
  }

  /** Ids of the runs this scheduler is training now. */
  activeRunIds(): number[] {
    return this.slots.flatMap((slot) => (slot.active ? [slot.active.run.id] : []));
  }

  /** Pids of the live worker processes, busy or idle. */
  workerPids(): number[] {
    return this.slots.flatMap((slot) => (slot.worker?.pid !== undefined && !slot.worker.exited ? [slot.worker.pid] : []));
  }

  /** Resolves at the next `idle` event, or at once when already idle. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.once('idle', resolve));
  }

  /**
   * Asks the workers of the given runs to stop. The runs must already be
   * marked cancelled in the store. Workers that do not stop in time are killed.
   */
  cancelActive(runIds: number[]): void {
    for (const slot of this.slots) {
      if (slot.active && runIds.includes(slot.active.run.id)) this.requestCancel(slot);
    }
  }

  /**
   * Stops every worker. Runs in progress go back to the queue with their
   * checkpoints, so a later `resume` continues them.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;

    for (const slot of this.slots) {
      const run = slot.active?.run ?? slot.starting;
      if (!run) continue;
      this.store.requeueRun(run.id, 'stopped: the scheduler shut down; resume continues from the last checkpoint');
      this.store.appendRunLog(run.id, 'warn', 'scheduler stopped; run requeued');
      runsDrivenHere.delete(run.id);
      slot.active = null;
      slot.starting = null;
    }

    const exits = this.slots.flatMap((slot) => {
      const worker = slot.worker;
      if (!worker) return [];
      slot.worker = null;
      worker.send({ type: 'shutdown' });
      const timer = setTimeout(() => worker.kill(), this.options.stopGraceMs);
      return [worker.whenExited().then(() => clearTimeout(timer))];
    });
    await Promise.all(exits);
  }

  // Taking runs.

  private isIdle(): boolean {
    return this.slots.every((slot) => !slot.active && !slot.starting) && !this.hasQueuedWork();
  }

  private hasQueuedWork(): boolean {
    return this.store.countRunsWithStatus('queued', this.experimentIds) > 0;
  }

  /** Fills free slots with queued runs. */
  private pump(): void {
    if (!this.running || this.stopping || this.pumping) return;
    this.pumping = true;
    try {
      for (const slot of this.slots) {
        if (slot.active || slot.starting) continue;
        const run = this.store.claimNextRun({ pid: process.pid, host: this.host }, this.experimentIds);
        if (!run) break;
        runsDrivenHere.add(run.id);
        void this.startRun(slot, run);
      }
    } finally {
      this.pumping = false;
    }
    const idle = this.isIdle();
    if (idle && !this.idleAnnounced) this.emit('idle');
    this.idleAnnounced = idle;
  }

  private async startRun(slot: Slot, claimed: RunRecord): Promise<void> {
    slot.starting = claimed;
    try {
      const checkpoint = this.store.rewindToLastCheckpoint(claimed.id);
      const resume: ResumeState | undefined = checkpoint
        ? { step: checkpoint.step, weights: checkpoint.weights, optimizerState: checkpoint.optimizerState, trainerState: checkpoint.trainerState }
        : undefined;
      if (checkpoint && checkpoint.step >= claimed.totalSteps) {
        slot.starting = null;
        this.finishFromFinalCheckpoint(claimed, checkpoint.step);
        return;
      }
      if (checkpoint) this.store.appendRunLog(claimed.id, 'info', `resuming from checkpoint at step ${checkpoint.step} (attempt ${claimed.attempts})`);
      const run = { ...claimed, step: checkpoint?.step ?? 0 };

      const worker = await this.ensureWorker(slot);
      if (this.stopping) return;
      slot.starting = null;

      this.seq += 1;
      slot.active = { run, seq: this.seq, lastMessageAt: Date.now(), lastHeartbeatWriteAt: 0, cancelDeadline: null, killReason: null };
      worker.send({ type: 'train', seq: this.seq, runId: run.id, config: run.config, ...(resume ? { resume } : {}) });
      this.emit('runStarted', run);
      log.info('run started', { run: run.id, experiment: run.experimentId, attempt: run.attempts, worker: worker.pid, resumeStep: resume?.step });
    } catch (error) {
      if (this.stopping) return;
      slot.starting = null;
      this.handleLostRun(claimed, (error as Error).message);
      this.pump();
    }
  }

  /**
   * Ends a run that was interrupted after committing its final checkpoint but
   * before reporting `done`: its weights and final metrics are already stored,
   * so no worker is needed.
   */
  private finishFromFinalCheckpoint(run: RunRecord, step: number): void {
    runsDrivenHere.delete(run.id);
    this.store.appendRunLog(run.id, 'info', `final checkpoint at step ${step} was already committed; the run is complete`);
    this.store.finishRun(run.id, { status: 'done', summary: this.store.summaryFromStoredMetrics(run.id, step) });
    log.info('run completed from its final checkpoint', { run: run.id, step });
    this.emit('runEnded', { experimentId: run.experimentId, runId: run.id, status: 'done', error: null });
    this.pump();
  }

  private async ensureWorker(slot: Slot): Promise<WorkerProcess> {
    if (slot.worker && !slot.worker.exited) return slot.worker;

    const worker = new WorkerProcess(this.entry);
    slot.worker = worker;
    worker.on('message', (message) => this.onMessage(slot, worker, message));
    worker.on('exit', (exit) => this.onExit(slot, worker, exit));
    await worker.waitReady(this.options.startupTimeoutMs);
    log.info('worker ready', { slot: slot.index, pid: worker.pid });
    return worker;
  }

  // Worker messages.

  private onMessage(slot: Slot, worker: WorkerProcess, message: WorkerMessage): void {
    if (this.stopping || slot.worker !== worker) return;
    const active = slot.active;

    if (message.type === 'ready') return;
    if (message.type === 'log' && message.runId === undefined) {
      log.info('worker log', { pid: worker.pid, level: message.level, message: message.message });
      return;
    }
    if (!active || !('seq' in message) || message.seq !== active.seq) {
      if (message.type === 'error') log.warn('worker error outside a run', { pid: worker.pid, error: message.error.message });
      else log.debug('ignored message for no active request', { type: message.type, pid: worker.pid });
      return;
    }

    active.lastMessageAt = Date.now();
    try {
      this.handleRunMessage(slot, active, message);
    } catch (error) {
      // A store write failed (disk full, database locked past the timeout):
      // the run cannot be recorded, so it is stopped and requeued.
      log.error('failed to record worker message', { run: active.run.id, type: message.type, error: (error as Error).message });
      active.killReason = `failed to record a ${message.type} message: ${(error as Error).message}`;
      worker.kill();
    }
  }

  private handleRunMessage(slot: Slot, active: ActiveRun, message: WorkerMessage): void {
    const runId = active.run.id;
    const experimentId = active.run.experimentId;

    switch (message.type) {
      case 'started':
        this.store.markRunStarted(runId, message.backend);
        // A backend note means the worker fell back to another backend, so the run log records it once, as a warning.
        this.store.appendRunLog(runId, message.backendNote ? 'warn' : 'info', `training on backend ${message.backend}${message.backendNote ? ` (${message.backendNote})` : ''}`);
        return;
      case 'progress':
        this.writeHeartbeat(active);
        this.emit('runProgress', {
          experimentId,
          runId,
          step: message.step,
          totalSteps: message.totalSteps,
          loss: message.loss,
          tokensPerSecond: message.tokensPerSecond,
        });
        return;
      case 'heartbeat':
        this.writeHeartbeat(active);
        return;
      case 'metrics':
        this.store.recordMetrics(runId, message.rows);
        active.lastHeartbeatWriteAt = Date.now();
        return;
      case 'checkpoint':
        this.store.commitCheckpoint(runId, message.checkpoint);
        active.lastHeartbeatWriteAt = Date.now();
        return;
      case 'log':
        this.store.appendRunLog(runId, message.level, message.message);
        return;
      case 'done':
        this.endRun(slot, { status: 'done', summary: message.summary });
        return;
      case 'diverged':
        this.endRun(slot, { status: 'diverged', step: message.step, message: message.message });
        return;
      case 'cancelled':
        this.endRun(slot, { status: 'cancelled' });
        return;
      case 'error':
        this.store.appendRunLog(runId, 'error', message.error.stack ?? message.error.message);
        this.endRun(slot, { status: 'failed', error: message.error.message });
        return;
      case 'analysisResult':
        log.warn('analysis result from a training worker ignored', { run: runId });
        return;
    }
  }

  private writeHeartbeat(active: ActiveRun): void {
    const now = Date.now();
    if (now - active.lastHeartbeatWriteAt < HEARTBEAT_WRITE_INTERVAL_MS) return;
    active.lastHeartbeatWriteAt = now;
    this.store.touchHeartbeat(active.run.id);
  }

  private endRun(slot: Slot, outcome: Parameters<Store['finishRun']>[1]): void {
    const active = slot.active;
    if (!active) return;
    slot.active = null;
    runsDrivenHere.delete(active.run.id);

    this.store.finishRun(active.run.id, outcome);
    const final = this.store.getRun(active.run.id);
    const status = final?.status ?? outcome.status;
    log.info('run ended', { run: active.run.id, status });
    this.emit('runEnded', { experimentId: active.run.experimentId, runId: active.run.id, status, error: final?.error ?? null });
    this.pump();
  }

  // Worker exits and timeouts.

  private onExit(slot: Slot, worker: WorkerProcess, exit: WorkerExit): void {
    if (slot.worker === worker) slot.worker = null;
    if (this.stopping) return;

    const active = slot.active;
    if (!active || slot.worker !== null) {
      if (!active) log.warn('idle worker exited', { pid: worker.pid, exit: describeExit(exit) });
      this.pump();
      return;
    }

    slot.active = null;
    runsDrivenHere.delete(active.run.id);
    if (active.cancelDeadline !== null) {
      this.store.finishRun(active.run.id, { status: 'cancelled' });
      this.emit('runEnded', { experimentId: active.run.experimentId, runId: active.run.id, status: 'cancelled', error: null });
      this.pump();
      return;
    }

    const cause = active.killReason ?? `worker exited without finishing (${describeExit(exit)})${worker.stderrSuffix()}`;
    this.handleLostRun(active.run, cause);
    this.pump();
  }

  /** Requeues a run whose worker was lost, or fails it once its attempts are used up. */
  private handleLostRun(run: RunRecord, cause: string): void {
    runsDrivenHere.delete(run.id);
    this.store.appendRunLog(run.id, 'error', `attempt ${run.attempts} lost: ${cause}`);
    log.warn('run lost its worker', { run: run.id, attempt: run.attempts, cause });

    if (run.attempts >= this.options.maxAttempts) {
      const error = `failed after ${run.attempts} attempts: ${cause}`;
      this.store.finishRun(run.id, { status: 'failed', error });
      this.emit('runEnded', { experimentId: run.experimentId, runId: run.id, status: 'failed', error });
      return;
    }
    this.store.requeueRun(run.id, cause);
    this.emit('runRequeued', { experimentId: run.experimentId, runId: run.id, reason: cause });
  }

  private requestCancel(slot: Slot): void {
    const active = slot.active;
    if (!active || active.cancelDeadline !== null) return;
    active.cancelDeadline = Date.now() + this.options.stopGraceMs;
    if (!slot.worker?.send({ type: 'cancel', seq: active.seq })) slot.worker?.kill();
  }

  private tick(): void {
    if (this.stopping) return;
    const now = Date.now();

    for (const slot of this.slots) {
      const active = slot.active;
      if (!active || !slot.worker) continue;

      if (active.cancelDeadline !== null) {
        if (now > active.cancelDeadline) slot.worker.kill();
        continue;
      }
      if (now - active.lastMessageAt > this.options.heartbeatTimeoutMs) {
        active.killReason = `worker sent nothing for ${Math.round((now - active.lastMessageAt) / 1000)} s and was killed`;
        slot.worker.kill();
        continue;
      }
      // Another process (`seedscope cancel`, a second app window) may have cancelled the run.
      const status = this.store.getRun(active.run.id)?.status;
      if (status !== 'running') this.requestCancel(slot);
    }

    this.pump();
  }
}
