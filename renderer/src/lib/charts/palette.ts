/** Colours and text styles shared by every chart, per theme. */

export type Theme = 'light' | 'dark';

export const SERIES_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

/** Colour of the marks that flag NaN and ±Infinity. */
export const NON_FINITE_COLOR = '#d62728';

export interface ThemeColors {
  text: string;
  mutedText: string;
  axis: string;
  grid: string;
  tooltipBackground: string;
  /** Panel colour behind the charts (`--panel` in app.css), used as the background of exported PNGs. */
  panel: string;
}

export function themeColors(theme: Theme): ThemeColors {
  if (theme === 'dark') {
    return { text: '#e6e6e6', mutedText: '#a0a4ab', axis: '#5c6370', grid: '#2c3038', tooltipBackground: '#22252b', panel: '#1c1f24' };
  }
  return { text: '#1f2328', mutedText: '#57606a', axis: '#8c959f', grid: '#e4e6e9', tooltipBackground: '#ffffff', panel: '#ffffff' };
}

export function colorFor(index: number): string {
  return SERIES_COLORS[index % SERIES_COLORS.length]!;
}

/** Colour of each optimizer label; one map serves every chart and table of an experiment. */
export type OptimizerColors = ReadonlyMap<string, string>;

/**
 * Assigns series colours to optimizer labels: first the labels of `order`
 * (the experiment's optimizers in spec order), then any other label of
 * `present`, sorted. With `order` empty, the colours follow the sorted labels,
 * so two charts of the same runs agree even without a shared map.
 */
export function assignOptimizerColors(order: readonly string[], present: Iterable<string> = []): Map<string, string> {
  const labels = [...new Set(order)];
  const known = new Set(labels);
  const extra = [...new Set(present)].filter((label) => !known.has(label)).sort();
  return new Map([...labels, ...extra].map((label, i) => [label, colorFor(i)]));
}

/** Returns `colors`, or the default assignment over the sorted optimizer labels of `items`. */
export function colorsOrDefault(colors: OptimizerColors | undefined, items: ReadonlyArray<{ optimizer: string }>): OptimizerColors {
  return colors ?? assignOptimizerColors([], items.map((item) => item.optimizer));
}

/** Returns the colour of `optimizer`, or a colour after the assigned ones when the map lacks it. */
export function optimizerColor(colors: OptimizerColors, optimizer: string): string {
  return colors.get(optimizer) ?? colorFor(colors.size);
}

/** Axis styling for a value axis in the given theme. */
export function valueAxis(theme: Theme, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const colors = themeColors(theme);
  return {
    type: 'value',
    name,
    nameLocation: 'middle',
    nameGap: 40,
    scale: true,
    nameTextStyle: { color: colors.mutedText },
    axisLine: { lineStyle: { color: colors.axis } },
    axisLabel: { color: colors.mutedText },
    splitLine: { lineStyle: { color: colors.grid } },
    ...extra,
  };
}

export function baseOption(theme: Theme): Record<string, unknown> {
  const colors = themeColors(theme);
  return {
    backgroundColor: 'transparent',
    color: SERIES_COLORS,
    textStyle: { color: colors.text, fontFamily: 'inherit' },
    tooltip: { backgroundColor: colors.tooltipBackground, borderColor: colors.axis, textStyle: { color: colors.text } },
    legend: { textStyle: { color: colors.text }, type: 'scroll', top: 0 },
    animation: false,
  };
}
