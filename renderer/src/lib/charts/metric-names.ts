/**
 * Pair metric names as core/analysis stores them. Function-space metrics are
 * per probe position, averaged; weight-space metrics are whole-model, raw or
 * after permutation alignment (prefix `aligned`).
 */
import type { FunctionMetric } from '../../../../core/analysis/function-space';

export const FUNCTION_METRIC_LABELS: Record<string, string> = {
  symmetricKl: 'symmetric KL',
  klAB: 'KL(a‖b)',
  klBA: 'KL(b‖a)',
  jensenShannon: 'Jensen–Shannon',
  fisherRao: 'Fisher–Rao',
  hellinger: 'Hellinger',
  totalVariation: 'total variation',
  top1Disagreement: 'top-1 disagreement',
} satisfies Record<FunctionMetric, string>;

export const WEIGHT_MEASURES = ['l2', 'relativeL2', 'cosine'] as const;
export type WeightMeasure = (typeof WEIGHT_MEASURES)[number];

export const WEIGHT_MEASURE_LABELS: Record<WeightMeasure, string> = { l2: 'L2', relativeL2: 'relative L2', cosine: 'cosine' };

/** Returns the stored name of a weight metric: `l2`, or `alignedL2` after alignment. */
export function weightMetricName(measure: WeightMeasure, aligned: boolean): string {
  return aligned ? `aligned${measure[0]!.toUpperCase()}${measure.slice(1)}` : measure;
}

export function isFunctionMetric(name: string): boolean {
  return name in FUNCTION_METRIC_LABELS;
}

/**
 * Units of the pair metrics: KL and Jensen–Shannon use natural logarithms
 * (nats), Fisher–Rao is an angle between distributions in radians, and the
 * rest are probabilities, fractions or plain L2 norms without a unit.
 */
const FUNCTION_METRIC_UNITS: Record<string, string> = { symmetricKl: 'nats', klAB: 'nats', klBA: 'nats', jensenShannon: 'nats', fisherRao: 'rad' };

/** Display names and units of the run metrics logged during training. */
export const RUN_METRICS: Record<string, { label: string; unit?: string }> = {
  trainLoss: { label: 'train loss', unit: 'nats' },
  validationLoss: { label: 'validation loss', unit: 'nats' },
  trueKl: { label: 'true KL', unit: 'nats' },
  gradNorm: { label: 'gradient norm' },
  updateNorm: { label: 'update norm' },
  lr: { label: 'learning rate' },
  tokensPerSecond: { label: 'tokens per second', unit: 'tokens/s' },
  stepMs: { label: 'step time', unit: 'ms' },
};

const OPTIMIZER_METRIC_PREFIX = 'opt.';

/**
 * Returns the display name of a pair or run metric: `alignedL2` becomes
 * `aligned L2`, `opt.stepKl` becomes `optimizer stepKl`, and an unknown name
 * is returned unchanged.
 */
export function metricLabel(name: string): string {
  if (name in FUNCTION_METRIC_LABELS) return FUNCTION_METRIC_LABELS[name]!;
  if (name in RUN_METRICS) return RUN_METRICS[name]!.label;
  if (name.startsWith(OPTIMIZER_METRIC_PREFIX)) return `optimizer ${name.slice(OPTIMIZER_METRIC_PREFIX.length)}`;
  for (const measure of WEIGHT_MEASURES) {
    if (name === measure) return WEIGHT_MEASURE_LABELS[measure];
    if (name === weightMetricName(measure, true)) return `aligned ${WEIGHT_MEASURE_LABELS[measure]}`;
  }
  return name;
}

/** Returns the unit of a metric, or undefined for unitless metrics and unknown names. */
export function metricUnit(name: string): string | undefined {
  if (name in FUNCTION_METRIC_UNITS) return FUNCTION_METRIC_UNITS[name];
  if (name in RUN_METRICS) return RUN_METRICS[name]!.unit;
  // Optimizer diagnostics follow the run metrics' naming: a `Ms` suffix is milliseconds and `Kl` is nats.
  if (name.startsWith(OPTIMIZER_METRIC_PREFIX) && name.endsWith('Ms')) return 'ms';
  if (name.startsWith(OPTIMIZER_METRIC_PREFIX) && name.endsWith('Kl')) return 'nats';
  return undefined;
}

/** Returns the display name followed by the unit in brackets, e.g. `symmetric KL (nats)`. */
export function metricLabelWithUnit(name: string): string {
  const unit = metricUnit(name);
  return unit === undefined ? metricLabel(name) : `${metricLabel(name)} (${unit})`;
}

/**
 * Returns the run metrics the loss chart offers: the standard ones in a fixed
 * order, then every `opt.` metric in `present`, sorted.
 */
export function runMetricChoices(present: Iterable<string>): string[] {
  const optimizerMetrics = [...new Set(present)].filter((name) => name.startsWith(OPTIMIZER_METRIC_PREFIX)).sort();
  return [...Object.keys(RUN_METRICS), ...optimizerMetrics];
}
