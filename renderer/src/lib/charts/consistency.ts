/**
 * The consistency table: per optimizer, how far apart its seeds land in
 * function space and in weight space (median and interquartile range over its
 * same-optimizer pairs) and how good the runs are (final validation loss).
 * Low, tight function distances mean the training gives the same function every time.
 */
import type { RunInfo } from '../../../../core/api';
import type { PairPoint } from './distances';
import { finiteValues, median, quantile } from './stats';
import { formatValue } from './text';

export interface Spread {
  median: number;
  q25: number;
  q75: number;
  /** Values that entered the statistics. */
  count: number;
  /** Values that were NaN or ±Infinity and were left out. */
  nonFinite: number;
}

export interface ConsistencyRow {
  optimizer: string;
  runs: number;
  pairs: number;
  functionDistance: Spread;
  weightDistance: Spread;
  finalValidationLoss: Spread;
}

export function spreadOf(values: readonly number[]): Spread {
  const finite = finiteValues(values);
  return { median: median(finite), q25: quantile(finite, 0.25), q75: quantile(finite, 0.75), count: finite.length, nonFinite: values.length - finite.length };
}

/** One row per optimizer, sorted by median function distance (most consistent first, NaN last). */
export function computeConsistency(runs: readonly Pick<RunInfo, 'id' | 'optimizerLabel' | 'finalValidationLoss'>[], points: readonly PairPoint[]): ConsistencyRow[] {
  const optimizers = [...new Set(runs.map((run) => run.optimizerLabel))];
  const optimizerOf = new Map(runs.map((run) => [run.id, run.optimizerLabel]));

  const rows = optimizers.map((optimizer) => {
    const own = points.filter((point) => point.sameOptimizer && optimizerOf.get(point.runA) === optimizer);
    const ownRuns = runs.filter((run) => run.optimizerLabel === optimizer);
    return {
      optimizer,
      runs: ownRuns.length,
      pairs: own.length,
      functionDistance: spreadOf(own.map((point) => point.function)),
      weightDistance: spreadOf(own.map((point) => point.weight)),
      finalValidationLoss: spreadOf(ownRuns.map((run) => run.finalValidationLoss ?? Number.NaN)),
    };
  });

  const key = (row: ConsistencyRow) => (Number.isFinite(row.functionDistance.median) ? row.functionDistance.median : Infinity);
  return rows.sort((a, b) => key(a) - key(b) || a.optimizer.localeCompare(b.optimizer));
}

/**
 * Returns the interquartile range as `q25 – q75`, or `—` for fewer than two
 * values, where quartiles would only repeat the median.
 */
export function interquartileText(spread: Spread): string {
  if (spread.count < 2) return '—';
  return `${formatValue(spread.q25)} – ${formatValue(spread.q75)}`;
}
