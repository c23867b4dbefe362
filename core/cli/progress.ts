/**
 * Live view of a sweep in the terminal: one progress bar per running run on a
 * TTY, otherwise one line when a run starts and when it ends.
 */
import cliProgress from 'cli-progress';
import type { RunEndedEvent, RunProgressEvent, Scheduler } from '../scheduler/scheduler';
import type { RunRecord, Store } from '../store/store';
import { colorStatus, formatNumber, type Colors } from './format';

export function runLabel(run: { id: number; optimizerLabel: string; initSeed: number; dataSeed: number }): string {
  const seeds = run.initSeed === run.dataSeed ? `seed ${run.initSeed}` : `init ${run.initSeed} data ${run.dataSeed}`;
  return `run ${run.id} ${run.optimizerLabel} ${seeds}`;
}

export class ProgressView {
  private readonly bars = new Map<number, cliProgress.SingleBar>();
  private readonly multibar: cliProgress.MultiBar | null;
  private readonly detach: Array<() => void> = [];

  constructor(
    private readonly scheduler: Scheduler,
    private readonly store: Store,
    private readonly stream: NodeJS.WriteStream,
    private readonly colors: Colors,
  ) {
    this.multibar = stream.isTTY
      ? new cliProgress.MultiBar(
          {
            stream,
            format: '{label} |{bar}| {value}/{total} loss {loss} {speed} tok/s',
            hideCursor: true,
            clearOnComplete: false,
            autopadding: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;

    const onStarted = (run: RunRecord) => this.started(run);
    const onProgress = (event: RunProgressEvent) => this.progress(event);
    const onEnded = (event: RunEndedEvent) => this.ended(event);
    const onRequeued = (event: { runId: number; reason: string }) => this.print(this.colors.yellow(`run ${event.runId} requeued: ${event.reason}`));
    scheduler.on('runStarted', onStarted);
    scheduler.on('runProgress', onProgress);
    scheduler.on('runEnded', onEnded);
    scheduler.on('runRequeued', onRequeued);
    this.detach.push(
      () => scheduler.off('runStarted', onStarted),
      () => scheduler.off('runProgress', onProgress),
      () => scheduler.off('runEnded', onEnded),
      () => scheduler.off('runRequeued', onRequeued),
    );
  }

  stop(): void {
    for (const detach of this.detach) detach();
    this.multibar?.stop();
  }

  private print(line: string): void {
    if (this.multibar) this.multibar.log(`${line}\n`);
    else this.stream.write(`${line}\n`);
  }

  private started(run: RunRecord): void {
    const resumed = run.step > 0 ? ` (resuming at step ${run.step})` : '';
    if (!this.multibar) {
      this.print(`${runLabel(run)}: started, attempt ${run.attempts}${resumed}`);
      return;
    }
    this.bars.set(run.id, this.multibar.create(run.totalSteps, run.step, { label: runLabel(run), loss: '-', speed: '-' }));
  }

  private progress(event: RunProgressEvent): void {
    this.bars.get(event.runId)?.update(event.step, { loss: formatNumber(event.loss), speed: formatNumber(Math.round(event.tokensPerSecond)) });
  }

  private ended(event: RunEndedEvent): void {
    const run = this.store.getRun(event.runId);
    if (run) {
      const detail =
        event.status === 'done'
          ? `train loss ${formatNumber(run.finalTrainLoss)}, validation loss ${formatNumber(run.finalValidationLoss)}`
          : (event.error ?? '');
      this.print(`${runLabel(run)}: ${colorStatus(event.status, this.colors)}${detail ? ` (${detail})` : ''}`);
    }

    // MultiBar.log only buffers the line. Removing the bar redraws the bars and so flushes it.
    const bar = this.bars.get(event.runId);
    if (bar) {
      this.multibar?.remove(bar);
      this.bars.delete(event.runId);
    }
  }
}
