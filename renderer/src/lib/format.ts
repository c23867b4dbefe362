/** Display formatting shared by the screens. */
import type { ExperimentSummary, RunInfo } from '../../../core/api';

export function formatDate(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export function finishedRuns(experiment: ExperimentSummary): number {
  const counts = experiment.runCounts;
  return counts.done + counts.failed + counts.diverged + counts.cancelled;
}

export function runLabel(run: Pick<RunInfo, 'id' | 'optimizerLabel' | 'initSeed' | 'dataSeed'>): string {
  const seeds = run.initSeed === run.dataSeed ? `seed ${run.initSeed}` : `init ${run.initSeed} data ${run.dataSeed}`;
  return `#${run.id} ${run.optimizerLabel} ${seeds}`;
}

/** Formats a duration in seconds as `1h 02m`, `3m 05s` or `12s`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m ${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

/**
 * Estimates the seconds left for a running run from its average pace since it
 * started. Returns null before the first step or when the start time is unknown.
 */
export function estimateSecondsLeft(run: Pick<RunInfo, 'startedAt' | 'step' | 'totalSteps' | 'status'>, now: number): number | null {
  if (run.status !== 'running' || run.startedAt === null || run.step <= 0) return null;
  const elapsed = (now - new Date(run.startedAt).getTime()) / 1000;
  if (!(elapsed > 0)) return null;
  return (elapsed / run.step) * (run.totalSteps - run.step);
}
