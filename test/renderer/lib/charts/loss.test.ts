import { describe, expect, it } from 'vitest';
import { buildLossCurvesOption, nonFiniteStretches, summariseByOptimizer, type RunCurve } from '../../../../renderer/src/lib/charts/loss';

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
});
