/**
 * Pair metric names as core/analysis stores them. Function-space metrics are
 * per probe position, averaged; weight-space metrics are whole-model, raw or
 * after permutation alignment (prefix `aligned`).
 */

export const FUNCTION_METRIC_LABELS: Record<string, string> = {
  symmetricKl: 'symmetric KL',
  klAB: 'KL(a‖b)',
  klBA: 'KL(b‖a)',
  jensenShannon: 'Jensen–Shannon',
  fisherRao: 'Fisher–Rao',
  hellinger: 'Hellinger',
  totalVariation: 'total variation',
  top1Disagreement: 'top-1 disagreement',
};

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
