/**
 * Run metric curves grouped by optimizer: each group's mean of the smoothed
 * runs with a ±1 standard deviation band on top, and every run's raw series
 * drawn faintly underneath. Smoothing is the debiased exponential moving
 * average of `smoothSeries`, so at weight 0 the mean is the plain mean of the
 * runs. NaN and ±Infinity become gaps in the lines (ECharts draws no segment
 * through null) and each stretch of them gets a dashed vertical mark, so they
 * are visible but never set the axis range.
 */
import { metricLabel, metricLabelWithUnit } from './metric-names';
import { baseOption, colorsOrDefault, NON_FINITE_COLOR, optimizerColor, themeColors, valueAxis, type OptimizerColors, type Theme } from './palette';
import { smoothSeries } from './smoothing';
import { mean, nonFiniteLabel, standardDeviation } from './stats';
import { escapeHtml } from './text';

export interface RunCurve {
  runId: number;
  optimizer: string;
  /** Short run label for tooltips, e.g. `#12 adam seed 3`. */
  label: string;
  steps: number[];
  values: number[];
}

export interface OptimizerBand {
  optimizer: string;
  steps: number[];
  /** Mean of the finite smoothed run values at each step; NaN where no run is finite. */
  mean: number[];
  standardDeviation: number[];
  /** Number of runs with a finite value at each step. */
  finiteRuns: number[];
  runCount: number;
}

/** Groups runs by optimizer, in first-seen order, and averages their smoothed values step by step. */
export function summariseByOptimizer(curves: readonly RunCurve[], smoothing: number): OptimizerBand[] {
  const groups = new Map<string, RunCurve[]>();
  for (const curve of curves) {
    const group = groups.get(curve.optimizer) ?? [];
    group.push(curve);
    groups.set(curve.optimizer, group);
  }

  return [...groups].map(([optimizer, runs]) => {
    const steps = [...new Set(runs.flatMap((run) => run.steps))].sort((a, b) => a - b);
    const smoothedByRun = runs.map((run) => {
      const smoothed = smoothSeries(run.values, smoothing);
      return new Map(run.steps.map((step, i) => [step, smoothed[i]!]));
    });

    const band: OptimizerBand = { optimizer, steps, mean: [], standardDeviation: [], finiteRuns: [], runCount: runs.length };
    for (const step of steps) {
      const values = smoothedByRun.map((byStep) => byStep.get(step) ?? Number.NaN);
      band.mean.push(mean(values));
      band.standardDeviation.push(standardDeviation(values));
      band.finiteRuns.push(values.filter(Number.isFinite).length);
    }
    return band;
  });
}

/** Returns one mark per stretch of consecutive non-finite values: its first step and the value there. */
export function nonFiniteStretches(curve: RunCurve): Array<{ step: number; value: number }> {
  const marks: Array<{ step: number; value: number }> = [];
  let inside = false;
  curve.values.forEach((value, i) => {
    const finite = Number.isFinite(value);
    if (!finite && !inside) marks.push({ step: curve.steps[i]!, value });
    inside = !finite;
  });
  return marks;
}

export interface LossChartInput {
  curves: RunCurve[];
  /** Metric shown, e.g. `trainLoss`. */
  metric: string;
  /** EMA weight in [0, 1). */
  smoothing: number;
  theme: Theme;
  /** Colours of the optimizers; by default assigned from the sorted optimizer labels of `curves`. */
  colors?: OptimizerColors;
}

/** Returns the chart's subtitle, e.g. `bold: mean ± sd of runs (smoothed, weight 0.6); faint: raw runs`. */
export function smoothingNote(smoothing: number): string {
  const smoothed = smoothing > 0 ? `smoothed, weight ${Number(smoothing.toFixed(2))}` : 'not smoothed';
  return `bold: mean ± sd of runs (${smoothed}); faint: raw runs`;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export function buildLossCurvesOption(input: LossChartInput): Record<string, unknown> {
  const bands = summariseByOptimizer(input.curves, input.smoothing);
  const optimizerColors = colorsOrDefault(input.colors, input.curves);
  const colorOf = new Map(bands.map((band) => [band.optimizer, optimizerColor(optimizerColors, band.optimizer)]));
  const series: Array<Record<string, unknown>> = [];

  for (const curve of input.curves) {
    const marks = nonFiniteStretches(curve);
    series.push({
      id: `run-${curve.runId}`,
      name: curve.optimizer,
      type: 'line',
      data: curve.steps.map((step, i) => [step, finiteOrNull(curve.values[i]!)]),
      showSymbol: false,
      connectNulls: false,
      sampling: 'lttb',
      silent: true,
      z: 1,
      lineStyle: { width: 1, opacity: 0.3, color: colorOf.get(curve.optimizer) },
      itemStyle: { color: colorOf.get(curve.optimizer) },
      ...(marks.length > 0
        ? {
            markLine: {
              symbol: 'none',
              silent: false,
              lineStyle: { color: NON_FINITE_COLOR, type: 'dashed', width: 1 },
              label: { color: NON_FINITE_COLOR, formatter: '{b}' },
              data: marks.map((mark) => ({ name: `${nonFiniteLabel(mark.value)} ${curve.label}`, xAxis: mark.step })),
            },
          }
        : {}),
    });
  }

  for (const band of bands) {
    const color = colorOf.get(band.optimizer);
    const lower = band.mean.map((value, i) => finiteOrNull(value - band.standardDeviation[i]!));
    const width = band.standardDeviation.map((value) => finiteOrNull(2 * value));
    series.push(
      { id: `band-low-${band.optimizer}`, name: band.optimizer, type: 'line', stack: `band-${band.optimizer}`, data: band.steps.map((step, i) => [step, lower[i]]), showSymbol: false, silent: true, lineStyle: { opacity: 0 }, z: 2 },
      { id: `band-width-${band.optimizer}`, name: band.optimizer, type: 'line', stack: `band-${band.optimizer}`, data: band.steps.map((step, i) => [step, width[i]]), showSymbol: false, silent: true, lineStyle: { opacity: 0 }, areaStyle: { color, opacity: 0.18 }, z: 2 },
      { id: `mean-${band.optimizer}`, name: band.optimizer, type: 'line', data: band.steps.map((step, i) => [step, finiteOrNull(band.mean[i]!), band.standardDeviation[i], band.finiteRuns[i], band.runCount]), showSymbol: false, connectNulls: false, lineStyle: { width: 2.5, color }, itemStyle: { color }, z: 3 },
    );
  }

  const colors = themeColors(input.theme);
  const base = baseOption(input.theme);
  return {
    ...base,
    title: { text: smoothingNote(input.smoothing), left: 'center', top: 22, textStyle: { color: colors.mutedText, fontSize: 11, fontWeight: 'normal' } },
    grid: { left: 64, right: 24, top: 52, bottom: 56 },
    tooltip: {
      ...(base.tooltip as object),
      trigger: 'axis',
      formatter: (params: Array<{ seriesId: string; seriesName: string; value: number[]; marker: string }>) => formatMeanTooltip(params, input.metric),
    },
    xAxis: { ...valueAxis(input.theme, 'step'), scale: false, min: 'dataMin', max: 'dataMax' },
    yAxis: valueAxis(input.theme, metricLabelWithUnit(input.metric), { nameGap: 48 }),
    dataZoom: [{ type: 'inside', xAxisIndex: 0 }],
    series,
    textStyle: { color: colors.text },
  };
}

function formatMeanTooltip(params: Array<{ seriesId: string; seriesName: string; value: number[]; marker: string }>, metric: string): string {
  const means = params.filter((param) => param.seriesId.startsWith('mean-'));
  if (means.length === 0) return '';
  const step = means[0]!.value[0];
  const lines = means.map((param) => {
    const [, value, sd, finiteRuns, runCount] = param.value as [number, number | null, number, number, number];
    const summary = value === null ? 'no finite value' : `${value.toPrecision(4)} ± ${sd.toPrecision(2)}`;
    const missing = finiteRuns < runCount ? ` (${runCount - finiteRuns} of ${runCount} runs non-finite or absent)` : '';
    return `${param.marker}${escapeHtml(param.seriesName)}: ${summary}${missing}`;
  });
  return [`${escapeHtml(metricLabel(metric))} at step ${step}`, ...lines].join('<br>');
}
