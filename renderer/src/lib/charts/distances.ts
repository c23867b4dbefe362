/**
 * Chart options of the Distances screen, built from pair-metric tables:
 * weight distance against function distance for every pair of runs, the two
 * distance matrices as heatmaps, MDS maps of the runs, and distances over
 * training steps. Pure functions of their input; no DOM.
 */
import type { PairMetricTable } from '../../../../core/api';
import { metricLabelWithUnit } from './metric-names';
import { baseOption, colorFor, colorsOrDefault, NON_FINITE_COLOR, optimizerColor, themeColors, valueAxis, type OptimizerColors, type Theme } from './palette';
import { median } from './stats';
import { escapeHtml, formatValue } from './text';

/** Run fields the charts use. */
export interface RunDescriptor {
  id: number;
  optimizer: string;
  /** Short label, e.g. `#12 adam seed 3`. */
  label: string;
}

export interface PairPoint {
  runA: number;
  runB: number;
  weight: number;
  function: number;
  /** `adam × adam` for a same-optimizer pair, `adam × sgd` (sorted) for a cross pair. */
  group: string;
  sameOptimizer: boolean;
}

/** Joins a weight-metric table and a function-metric table of one step on (runA, runB). */
export function joinPairs(weight: PairMetricTable, fn: PairMetricTable, runs: readonly RunDescriptor[]): PairPoint[] {
  const optimizerOf = new Map(runs.map((run) => [run.id, run.optimizer]));
  const functionValue = new Map<string, number>();
  fn.runA.forEach((runA, i) => functionValue.set(`${runA}:${fn.runB[i]}`, fn.values[i]!));

  const points: PairPoint[] = [];
  weight.runA.forEach((runA, i) => {
    const runB = weight.runB[i]!;
    const y = functionValue.get(`${runA}:${runB}`);
    if (y === undefined) return;
    const a = optimizerOf.get(runA) ?? '?';
    const b = optimizerOf.get(runB) ?? '?';
    const [first, second] = a <= b ? [a, b] : [b, a];
    points.push({ runA, runB, weight: weight.values[i]!, function: y, group: `${first} × ${second}`, sameOptimizer: a === b });
  });
  return points;
}

export interface ScatterInput {
  points: PairPoint[];
  runs: RunDescriptor[];
  /** Stored metric names, e.g. `alignedL2` and `symmetricKl`. The axes show their display names. */
  weightMetric: string;
  functionMetric: string;
  step: number;
  theme: Theme;
  /** Colours of the optimizers; by default assigned from the sorted labels of `runs`. */
  colors?: OptimizerColors;
}

/** Points whose weight or function distance is NaN or ±Infinity; they cannot be placed and are listed instead. */
export function nonFinitePairs(points: readonly PairPoint[]): PairPoint[] {
  return points.filter((point) => !Number.isFinite(point.weight) || !Number.isFinite(point.function));
}

/**
 * The headline scatter: one point per pair of runs, x the weight distance and
 * y the function distance, one series per optimizer pair (circles for the
 * same optimizer, triangles across optimizers). Each data item is
 * `[x, y, runA, runB]`, so a click handler can open the pair.
 */
export function buildWeightVsKlOption(input: ScatterInput): Record<string, unknown> {
  const labelOf = new Map(input.runs.map((run) => [run.id, run.label]));
  const groups = new Map<string, PairPoint[]>();
  for (const point of input.points) {
    if (!Number.isFinite(point.weight) || !Number.isFinite(point.function)) continue;
    const group = groups.get(point.group) ?? [];
    group.push(point);
    groups.set(point.group, group);
  }

  const ordered = [...groups].sort(([a, pa], [b, pb]) => Number(pb[0]!.sameOptimizer) - Number(pa[0]!.sameOptimizer) || a.localeCompare(b));
  const total = input.points.length;
  const optimizerOf = new Map(input.runs.map((run) => [run.id, run.optimizer]));
  const colors = colorsOrDefault(input.colors, input.runs);
  // A same-optimizer group takes its optimizer's colour; cross groups take the colours after the optimizers'.
  let crossGroups = 0;
  const colorOfGroup = (points: PairPoint[]) => (points[0]!.sameOptimizer ? optimizerColor(colors, optimizerOf.get(points[0]!.runA) ?? '?') : colorFor(colors.size + crossGroups++));
  const series = ordered.map(([group, points]) => ({
    id: `pairs-${group}`,
    name: group,
    type: 'scatter',
    symbol: points[0]!.sameOptimizer ? 'circle' : 'triangle',
    symbolSize: total > 2000 ? 4 : 8,
    large: true,
    largeThreshold: 2000,
    progressive: 5000,
    itemStyle: { color: colorOfGroup(points), opacity: total > 2000 ? 0.5 : 0.8 },
    emphasis: { focus: 'series' },
    data: points.map((point) => [point.weight, point.function, point.runA, point.runB]),
  }));

  const base = baseOption(input.theme);
  return {
    ...base,
    grid: { left: 72, right: 24, top: 48, bottom: 56 },
    tooltip: {
      ...(base.tooltip as object),
      trigger: 'item',
      formatter: (param: { seriesName: string; value: [number, number, number, number] }) => {
        const [x, y, runA, runB] = param.value;
        return [
          `${escapeHtml(labelOf.get(runA) ?? `#${runA}`)}<br>${escapeHtml(labelOf.get(runB) ?? `#${runB}`)}`,
          `${escapeHtml(metricLabelWithUnit(input.weightMetric))}: ${formatValue(x)}`,
          `${escapeHtml(metricLabelWithUnit(input.functionMetric))}: ${formatValue(y)}`,
          `<span style="opacity:.7">${escapeHtml(param.seriesName)}; click to open the pair</span>`,
        ].join('<br>');
      },
    },
    xAxis: valueAxis(input.theme, `weight distance: ${metricLabelWithUnit(input.weightMetric)}`),
    yAxis: valueAxis(input.theme, `function distance: ${metricLabelWithUnit(input.functionMetric)}`, { nameGap: 52 }),
    dataZoom: [
      { type: 'inside', xAxisIndex: 0, filterMode: 'none' },
      { type: 'inside', yAxisIndex: 0, filterMode: 'none' },
    ],
    series,
  };
}

/** Number of points an option from `buildWeightVsKlOption` places. */
export function countScatterPoints(option: { series?: unknown }): number {
  const series = (option.series ?? []) as Array<{ data?: unknown[] }>;
  return series.reduce((sum, each) => sum + (each.data?.length ?? 0), 0);
}

export interface HeatmapInput {
  table: PairMetricTable;
  runs: RunDescriptor[];
  title: string;
  theme: Theme;
}

/**
 * Builds the heatmap of the symmetric n × n distance matrix of one metric.
 * Runs are ordered by optimizer and then id, so same-optimizer blocks sit on the diagonal.
 * The diagonal is 0 and non-finite cells are left blank (counted in the subtitle).
 */
export function buildDistanceHeatmapOption(input: HeatmapInput): Record<string, unknown> {
  const ordered = orderRuns(input.runs);
  const indexOf = new Map(ordered.map((run, i) => [run.id, i]));
  const cells: Array<[number, number, number]> = ordered.map((_, i) => [i, i, 0]);
  let nonFinite = 0;
  let maximum = 0;

  input.table.runA.forEach((runA, k) => {
    const i = indexOf.get(runA);
    const j = indexOf.get(input.table.runB[k]!);
    if (i === undefined || j === undefined) return;
    const value = input.table.values[k]!;
    if (!Number.isFinite(value)) {
      nonFinite += 1;
      return;
    }
    maximum = Math.max(maximum, value);
    cells.push([i, j, value], [j, i, value]);
  });

  const colors = themeColors(input.theme);
  const labels = ordered.map((run) => run.label);
  const axis = (inverse: boolean) => ({
    type: 'category',
    data: labels,
    inverse,
    axisLabel: { show: ordered.length <= 24, color: colors.mutedText, fontSize: 10 },
    axisTick: { show: false },
    axisLine: { lineStyle: { color: colors.axis } },
  });
  const base = baseOption(input.theme);
  return {
    ...base,
    title: {
      text: input.title,
      subtext: nonFinite > 0 ? `${nonFinite} non-finite pairs left blank` : '',
      left: 'center',
      textStyle: { color: colors.text, fontSize: 13 },
      subtextStyle: { color: NON_FINITE_COLOR },
    },
    // Rotated run labels take about 90 px under the grid; the colour scale sits below them.
    grid: { left: ordered.length <= 24 ? 110 : 24, right: 24, top: 48, bottom: ordered.length <= 24 ? 140 : 60 },
    tooltip: {
      ...(base.tooltip as object),
      formatter: (param: { value: [number, number, number] }) => {
        const [i, j, value] = param.value;
        return `${escapeHtml(labels[i] ?? '')}<br>${escapeHtml(labels[j] ?? '')}<br>${escapeHtml(input.title)}: ${formatValue(value)}`;
      },
    },
    xAxis: { ...axis(false), axisLabel: { ...axis(false).axisLabel, rotate: 60 } },
    yAxis: axis(true),
    visualMap: {
      min: 0,
      max: maximum > 0 ? maximum : 1,
      calculable: true,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemHeight: 160,
      itemWidth: 12,
      formatter: (value: number) => formatValue(value),
      textStyle: { color: colors.mutedText },
      inRange: { color: input.theme === 'dark' ? ['#182433', '#3f7cc0', '#cfe3fb'] : ['#f7fbff', '#6baed6', '#08306b'] },
    },
    series: [{ type: 'heatmap', data: cells, progressive: 10000, emphasis: { itemStyle: { borderColor: colors.text, borderWidth: 1 } } }],
  };
}

function orderRuns(runs: readonly RunDescriptor[]): RunDescriptor[] {
  return [...runs].sort((a, b) => a.optimizer.localeCompare(b.optimizer) || a.id - b.id);
}

export interface MdsPoint {
  runId: number;
  x: number;
  y: number;
}

export interface MdsInput {
  points: MdsPoint[];
  runs: RunDescriptor[];
  title: string;
  theme: Theme;
  colors?: OptimizerColors;
}

/** Builds a 2-D MDS map of the runs in one space, one series per optimizer. */
export function buildMdsOption(input: MdsInput): Record<string, unknown> {
  const runOf = new Map(input.runs.map((run) => [run.id, run]));
  const optimizers = [...new Set(input.runs.map((run) => run.optimizer))];
  const optimizerColors = colorsOrDefault(input.colors, input.runs);
  const series = optimizers.map((optimizer) => ({
    name: optimizer,
    type: 'scatter',
    symbolSize: 9,
    itemStyle: { color: optimizerColor(optimizerColors, optimizer) },
    data: input.points
      .filter((point) => runOf.get(point.runId)?.optimizer === optimizer && Number.isFinite(point.x) && Number.isFinite(point.y))
      .map((point) => [point.x, point.y, point.runId]),
  }));

  const colors = themeColors(input.theme);
  const base = baseOption(input.theme);
  return {
    ...base,
    title: { text: input.title, left: 'center', top: 22, textStyle: { color: colors.text, fontSize: 13 } },
    grid: { left: 48, right: 16, top: 56, bottom: 32 },
    tooltip: {
      ...(base.tooltip as object),
      formatter: (param: { value: [number, number, number] }) => escapeHtml(runOf.get(param.value[2])?.label ?? `#${param.value[2]}`),
    },
    xAxis: valueAxis(input.theme, '', { nameGap: 0 }),
    yAxis: valueAxis(input.theme, '', { nameGap: 0 }),
    series,
  };
}

export interface StepTables {
  step: number;
  weight: PairMetricTable;
  fn: PairMetricTable;
}

export interface OverStepsInput {
  tables: StepTables[];
  runs: RunDescriptor[];
  weightMetric: string;
  functionMetric: string;
  theme: Theme;
  colors?: OptimizerColors;
}

/**
 * Median within-optimizer distance at each checkpoint step, one line per
 * optimizer for the function metric (solid, left axis) and the weight metric
 * (dashed, right axis). Checkpoint steps are log-spaced, so the step axis is
 * logarithmic and steps below 1 are left out. Both distance axes start at 0.
 */
export function buildDistanceOverStepsOption(input: OverStepsInput): Record<string, unknown> {
  const optimizers = [...new Set(input.runs.map((run) => run.optimizer))];
  const colors = colorsOrDefault(input.colors, input.runs);
  const optimizerOf = new Map(input.runs.map((run) => [run.id, run.optimizer]));
  const tables = input.tables.filter((table) => table.step >= 1).sort((a, b) => a.step - b.step);
  const sameOptimizerPairs = tables.map(({ step, weight, fn }) => ({ step, pairs: joinPairs(weight, fn, input.runs).filter((point) => point.sameOptimizer) }));
  const series: Array<Record<string, unknown>> = [];

  optimizers.forEach((optimizer) => {
    const color = optimizerColor(colors, optimizer);
    const functionLine: Array<[number, number | null]> = [];
    const weightLine: Array<[number, number | null]> = [];
    for (const { step, pairs } of sameOptimizerPairs) {
      const points = pairs.filter((point) => optimizerOf.get(point.runA) === optimizer);
      const fnMedian = median(points.map((point) => point.function));
      const weightMedian = median(points.map((point) => point.weight));
      functionLine.push([step, Number.isFinite(fnMedian) ? fnMedian : null]);
      weightLine.push([step, Number.isFinite(weightMedian) ? weightMedian : null]);
    }
    series.push(
      { name: optimizer, type: 'line', yAxisIndex: 0, data: functionLine, symbolSize: 5, lineStyle: { color, width: 2 }, itemStyle: { color } },
      { name: optimizer, type: 'line', yAxisIndex: 1, data: weightLine, symbolSize: 5, lineStyle: { color, width: 1.5, type: 'dashed' }, itemStyle: { color } },
    );
  });

  const base = baseOption(input.theme);
  return {
    ...base,
    grid: { left: 72, right: 72, top: 40, bottom: 56 },
    tooltip: { ...(base.tooltip as object), trigger: 'axis', valueFormatter: (value: number) => formatValue(value) },
    xAxis: { ...valueAxis(input.theme, 'checkpoint step (log scale)'), type: 'log', logBase: 10, scale: false, min: 'dataMin', max: 'dataMax' },
    yAxis: [
      valueAxis(input.theme, `median ${metricLabelWithUnit(input.functionMetric)}, solid`, { nameGap: 52, scale: false, min: 0 }),
      valueAxis(input.theme, `median ${metricLabelWithUnit(input.weightMetric)}, dashed`, { nameGap: 52, scale: false, min: 0, splitLine: { show: false } }),
    ],
    series,
  };
}
