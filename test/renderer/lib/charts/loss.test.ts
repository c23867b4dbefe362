import { describe, expect, it } from 'vitest';
import { buildLossCurvesOption, nonFiniteStretches, smoothingNote, summariseByOptimizer, type RunCurve } from '../../../../renderer/src/lib/charts/loss';

function curve(runId: number, optimizer: string, values: number[]): RunCurve {
  return { runId, optimizer, label: `#${runId} ${optimizer}`, steps: values.map((_, i) => (i + 1) * 10), values };
}

type Series = { id: string; data: Array<Array<number | null>>; markLine?: { data: Array<{ name: string; xAxis: number }> } };

describe('summariseByOptimizer', () => {
  it('averages runs of the same optimizer step by step', () => {
    const bands = summariseByOptimizer([curve(1, 'adam', [1, 2]), curve(2, 'adam', [3, 4]), curve(3, 'sgd', [5, 5])], 0);

    expect(bands.map((band) => band.optimizer)).toEqual(['adam', 'sgd']);
    expect(bands[0]!.mean).toEqual([2, 3]);
    expect(bands[0]!.standardDeviation[0]).toBeCloseTo(Math.SQRT2, 12);
    expect(bands[1]!.standardDeviation).toEqual([0, 0]);
  });

  it('counts the runs with a finite value at each step', () => {
    const bands = summariseByOptimizer([curve(1, 'adam', [1, Number.NaN]), curve(2, 'adam', [3, 5])], 0);

    expect(bands[0]!.finiteRuns).toEqual([2, 1]);
    expect(bands[0]!.mean).toEqual([2, 5]);
  });
});

describe('nonFiniteStretches', () => {
  it('marks the first step of each stretch with its value', () => {
    const marks = nonFiniteStretches(curve(1, 'sgd', [1, Number.NaN, Infinity, 2, -Infinity]));

    expect(marks).toHaveLength(2);
    expect(marks[0]!.step).toBe(20);
    expect(marks[0]!.value).toBeNaN();
    expect(marks[1]).toEqual({ step: 50, value: -Infinity });
  });
});

describe('buildLossCurvesOption', () => {
  it('turns non-finite values into gaps, never axis values', () => {
    const option = buildLossCurvesOption({ curves: [curve(7, 'sgd', [2, Infinity, 1])], metric: 'trainLoss', smoothing: 0, theme: 'light' });
    const raw = (option.series as Series[]).find((series) => series.id === 'run-7')!;

    expect(raw.data).toEqual([
      [10, 2],
      [20, null],
      [30, 1],
    ]);
    expect(raw.markLine!.data).toEqual([{ name: '+∞ #7 sgd', xAxis: 20 }]);
  });

  it('draws a mean line and a two-part band per optimizer', () => {
    const option = buildLossCurvesOption({ curves: [curve(1, 'adam', [1, 2]), curve(2, 'adam', [3, 4])], metric: 'trainLoss', smoothing: 0, theme: 'dark' });
    const series = option.series as Series[];
    const byId = (id: string) => series.find((each) => each.id === id)!;

    expect(byId('mean-adam').data.map((point) => point.slice(0, 2))).toEqual([
      [10, 2],
      [20, 3],
    ]);
    expect(byId('band-low-adam').data[0]![1]).toBeCloseTo(2 - Math.SQRT2, 12);
    expect(byId('band-width-adam').data[0]![1]).toBeCloseTo(2 * Math.SQRT2, 12);
  });

  it('draws the plain mean of the runs at smoothing 0', () => {
    const runs = [curve(1, 'adam', [4, 1, 3, 0.5]), curve(2, 'adam', [2, 5, 1, 1.5]), curve(3, 'adam', [3, 0, 2, 1])];
    const option = buildLossCurvesOption({ curves: runs, metric: 'trainLoss', smoothing: 0, theme: 'light' });
    const mean = (option.series as Series[]).find((each) => each.id === 'mean-adam')!;

    runs[0]!.values.forEach((_, i) => {
      const plain = runs.reduce((sum, run) => sum + run.values[i]!, 0) / runs.length;
      expect(mean.data[i]![1]).toBeCloseTo(plain, 12);
    });
  });

  it('starts the smoothed mean at the raw mean', () => {
    const runs = [curve(1, 'sgd', [4, 1, 1]), curve(2, 'sgd', [2, 1, 1])];
    const option = buildLossCurvesOption({ curves: runs, metric: 'trainLoss', smoothing: 0.6, theme: 'light' });
    const mean = (option.series as Series[]).find((each) => each.id === 'mean-sgd')!;

    // Debiased: the first point is the raw mean 3, not 0.4 · 3 pulled towards 0.
    expect(mean.data[0]![1]).toBeCloseTo(3, 12);
    // Step 2: (0.6 · 0.4 · 3 + 0.4 · 1) / (1 − 0.36) = 1.75.
    expect(mean.data[1]![1]).toBeCloseTo(1.75, 12);
  });

  it('labels the axis with display name, unit and smoothing', () => {
    const option = buildLossCurvesOption({ curves: [curve(1, 'adam', [1, 2])], metric: 'validationLoss', smoothing: 0.6, theme: 'light' });

    expect((option.yAxis as { name: string }).name).toBe('validation loss (nats)');
    expect((option.title as { text: string }).text).toBe(smoothingNote(0.6));
    expect(smoothingNote(0.6)).toContain('(smoothed, weight 0.6)');
    expect(smoothingNote(0)).toContain('(not smoothed)');
  });
});

