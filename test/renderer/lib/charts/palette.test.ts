import { describe, expect, it } from 'vitest';
import { buildDistanceOverStepsOption, buildMdsOption, buildWeightVsKlOption, joinPairs } from '../../../../renderer/src/lib/charts/distances';
import { buildLossCurvesOption, type RunCurve } from '../../../../renderer/src/lib/charts/loss';
import { assignOptimizerColors, colorFor, optimizerColor } from '../../../../renderer/src/lib/charts/palette';
import { makeRuns, makeTable } from './builders';

type Series = { id?: string; name: string; itemStyle?: { color?: string }; lineStyle?: { color?: string } };

/** Colour of each named series of an option, read from its item style. */
function colorsByName(option: Record<string, unknown>): Map<string, string> {
  const colors = new Map<string, string>();
  for (const series of option.series as Series[]) {
    const color = series.itemStyle?.color ?? series.lineStyle?.color;
    if (color !== undefined) colors.set(series.name, color);
  }
  return colors;
}

describe('assignOptimizerColors', () => {
  it('follows the given order, then sorted extra labels', () => {
    const colors = assignOptimizerColors(['sgd', 'adam'], ['kfac', 'adam', 'ngd']);

    expect([...colors]).toEqual([
      ['sgd', colorFor(0)],
      ['adam', colorFor(1)],
      ['kfac', colorFor(2)],
      ['ngd', colorFor(3)],
    ]);
  });

  it('sorts the labels without an order', () => {
    const colors = assignOptimizerColors([], ['sgd', 'adam', 'sgd']);

    expect(colors.get('adam')).toBe(colorFor(0));
    expect(colors.get('sgd')).toBe(colorFor(1));
  });

  it('gives an unknown label a colour after the assigned ones', () => {
    expect(optimizerColor(assignOptimizerColors(['adam']), 'sgd')).toBe(colorFor(1));
  });
});

describe('optimizer colours across builders', () => {
  // Runs listed sgd first, while the spec order puts adam first: every chart must still agree.
  const runs = makeRuns(['sgd', 'adam'], 3);
  const weight = makeTable(runs, 'l2', 8, (a, b) => a + b);
  const fn = makeTable(runs, 'symmetricKl', 8, (a, b) => a * b);
  const points = joinPairs(weight, fn, runs);
  const curves: RunCurve[] = runs.map((run) => ({ runId: run.id, optimizer: run.optimizer, label: run.label, steps: [1, 2], values: [run.id, run.id / 2] }));
  const mdsPoints = runs.map((run) => ({ runId: run.id, x: run.id, y: 0 }));

  function colorsOfEveryBuilder(colors?: ReadonlyMap<string, string>) {
    const scatter = colorsByName(buildWeightVsKlOption({ points, runs, weightMetric: 'l2', functionMetric: 'symmetricKl', step: 8, theme: 'light', colors }));
    const loss = colorsByName(buildLossCurvesOption({ curves, metric: 'trainLoss', smoothing: 0.6, theme: 'light', colors }));
    const mds = colorsByName(buildMdsOption({ points: mdsPoints, runs, title: 'MDS', theme: 'light', colors }));
    const overSteps = colorsByName(buildDistanceOverStepsOption({ tables: [{ step: 8, weight, fn }], runs, weightMetric: 'l2', functionMetric: 'symmetricKl', theme: 'light', colors }));
    return { scatter, loss, mds, overSteps };
  }

  it('use the shared map for every optimizer', () => {
    const colors = assignOptimizerColors(['adam', 'sgd']);
    const { scatter, loss, mds, overSteps } = colorsOfEveryBuilder(colors);

    for (const optimizer of ['adam', 'sgd']) {
      const expected = colors.get(optimizer);
      expect(scatter.get(`${optimizer} × ${optimizer}`)).toBe(expected);
      expect(loss.get(optimizer)).toBe(expected);
      expect(mds.get(optimizer)).toBe(expected);
      expect(overSteps.get(optimizer)).toBe(expected);
    }
  });

  it('agree without a shared map', () => {
    const { scatter, loss, mds, overSteps } = colorsOfEveryBuilder();

    for (const optimizer of ['adam', 'sgd']) {
      const expected = loss.get(optimizer);
      expect(expected).toBeDefined();
      expect(scatter.get(`${optimizer} × ${optimizer}`)).toBe(expected);
      expect(mds.get(optimizer)).toBe(expected);
      expect(overSteps.get(optimizer)).toBe(expected);
    }
  });

  it('give cross-optimizer pairs a colour no optimizer has', () => {
    const colors = assignOptimizerColors(['adam', 'sgd']);
    const { scatter } = colorsOfEveryBuilder(colors);

    expect([...colors.values()]).not.toContain(scatter.get('adam × sgd'));
  });
});
