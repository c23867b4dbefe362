import { describe, expect, it } from 'vitest';
import {
  buildDistanceHeatmapOption,
  buildDistanceOverStepsOption,
  buildMdsOption,
  buildWeightVsKlOption,
  countScatterPoints,
  joinPairs,
  nonFinitePairs,
} from '../../../../renderer/src/lib/charts/distances';
import { makeRuns, makeTable } from './builders';

type Series = { name: string; symbol?: string; large?: boolean; data: unknown[][] };

describe('joinPairs', () => {
  it('matches rows by run pair and labels the optimizer pair', () => {
    const runs = makeRuns(['sgd', 'adam'], 2);
    const weight = makeTable(runs, 'l2', 10, (a, b) => a * 10 + b);
    const fn = makeTable(runs, 'symmetricKl', 10, (a, b) => a + b / 10);
    fn.runA.reverse();
    fn.runB.reverse();
    fn.values.reverse();

    const points = joinPairs(weight, fn, runs);

    expect(points).toHaveLength(6);
    const pair = points.find((point) => point.runA === 1 && point.runB === 3)!;
    expect(pair.weight).toBe(13);
    expect(pair.function).toBeCloseTo(1.3, 12);
    expect(pair.group).toBe('adam × sgd');
    expect(pair.sameOptimizer).toBe(false);
    expect(points.find((point) => point.runA === 3 && point.runB === 4)!.group).toBe('adam × adam');
  });
});

describe('buildWeightVsKlOption', () => {
  it('places n(n-1)/2 points for n runs', () => {
    const runs = makeRuns(['sgd', 'adam', 'kfac'], 4);
    const points = joinPairs(makeTable(runs, 'l2', 5, (a, b) => a + b), makeTable(runs, 'fisherRao', 5, (a, b) => a * b), runs);

    const option = buildWeightVsKlOption({ points, runs, weightMetric: 'l2', functionMetric: 'fisherRao', step: 5, theme: 'light' });

    expect(countScatterPoints(option)).toBe((12 * 11) / 2);
  });

  it('keeps one series per optimizer pair, same-optimizer pairs as circles', () => {
    const runs = makeRuns(['sgd', 'adam'], 3);
    const points = joinPairs(makeTable(runs, 'l2', 5, () => 1), makeTable(runs, 'symmetricKl', 5, () => 2), runs);

    const series = buildWeightVsKlOption({ points, runs, weightMetric: 'l2', functionMetric: 'symmetricKl', step: 5, theme: 'dark' }).series as Series[];

    expect(series.map((each) => each.name)).toEqual(['adam × adam', 'sgd × sgd', 'adam × sgd']);
    expect(series.map((each) => each.symbol)).toEqual(['circle', 'circle', 'triangle']);
    expect(series.map((each) => each.data.length)).toEqual([3, 3, 9]);
  });

  it('leaves out pairs with NaN or infinite distances and reports them', () => {
    const runs = makeRuns(['adam'], 3);
    const weight = makeTable(runs, 'l2', 5, (a) => (a === 1 ? Number.NaN : 1));
    const fn = makeTable(runs, 'symmetricKl', 5, (_, b) => (b === 3 ? Infinity : 0.5));
    const points = joinPairs(weight, fn, runs);

    const option = buildWeightVsKlOption({ points, runs, weightMetric: 'l2', functionMetric: 'symmetricKl', step: 5, theme: 'light' });

    expect(countScatterPoints(option)).toBe(0);
    expect(nonFinitePairs(points)).toHaveLength(3);
  });

  it('stores the run ids in every data item for click handling', () => {
    const runs = makeRuns(['adam'], 2);
    const points = joinPairs(makeTable(runs, 'l2', 1, () => 0.25), makeTable(runs, 'klAB', 1, () => 0.5), runs);

    const series = buildWeightVsKlOption({ points, runs, weightMetric: 'l2', functionMetric: 'klAB', step: 1, theme: 'light' }).series as Series[];

    expect(series[0]!.data[0]).toEqual([0.25, 0.5, 1, 2]);
  });

  it('uses large mode for 200 runs', () => {
    const runs = makeRuns(['sgd', 'adam'], 100);
    const points = joinPairs(makeTable(runs, 'l2', 1, (a, b) => a + b), makeTable(runs, 'klAB', 1, (a, b) => a * b), runs);

    const option = buildWeightVsKlOption({ points, runs, weightMetric: 'l2', functionMetric: 'klAB', step: 1, theme: 'light' });

    expect(countScatterPoints(option)).toBe(19_900);
    expect((option.series as Series[]).every((each) => each.large === true)).toBe(true);
  });
});

describe('buildDistanceHeatmapOption', () => {
  it('fills both triangles and a zero diagonal', () => {
    const runs = makeRuns(['adam'], 3);
    const table = makeTable(runs, 'l2', 1, (a, b) => a + b);

    const option = buildDistanceHeatmapOption({ table, runs, title: 'l2', theme: 'light' });
    const cells = (option.series as Array<{ data: number[][] }>)[0]!.data;

    expect(cells).toHaveLength(9);
    expect(cells.filter(([i, j]) => i === j).every(([, , value]) => value === 0)).toBe(true);
    expect(cells).toContainEqual([0, 2, 4]);
    expect(cells).toContainEqual([2, 0, 4]);
    expect((option.visualMap as { max: number }).max).toBe(5);
  });

  it('leaves non-finite cells blank and counts them in the subtitle', () => {
    const runs = makeRuns(['adam'], 3);
    const table = makeTable(runs, 'l2', 1, (a, b) => (a === 1 && b === 2 ? Number.NaN : 1));

    const option = buildDistanceHeatmapOption({ table, runs, title: 'l2', theme: 'light' });

    expect((option.series as Array<{ data: number[][] }>)[0]!.data).toHaveLength(7);
    expect((option.title as { subtext: string }).subtext).toBe('1 non-finite pairs left blank');
  });
});

describe('buildMdsOption', () => {
  it('groups points by optimizer and drops non-finite coordinates', () => {
    const runs = makeRuns(['sgd', 'adam'], 2);
    const points = [
      { runId: 1, x: 0, y: 1 },
      { runId: 2, x: Number.NaN, y: 0 },
      { runId: 3, x: 2, y: 3 },
      { runId: 4, x: 4, y: 5 },
    ];

    const series = buildMdsOption({ points, runs, title: 'MDS', theme: 'light' }).series as Series[];

    expect(series.map((each) => [each.name, each.data.length])).toEqual([
      ['sgd', 1],
      ['adam', 2],
    ]);
  });
});

describe('buildDistanceOverStepsOption', () => {
  it('plots the median same-optimizer distance per step', () => {
    const runs = makeRuns(['adam'], 3);
    const tables = [10, 20].map((step) => ({
      step,
      weight: makeTable(runs, 'l2', step, (a, b) => step * (a + b)),
      fn: makeTable(runs, 'symmetricKl', step, (a, b) => a * b),
    }));

    const series = buildDistanceOverStepsOption({ tables, runs, weightMetric: 'l2', functionMetric: 'symmetricKl', theme: 'light' }).series as Series[];

    // Pairs (1,2), (1,3), (2,3): products 2, 3, 6 and sums 3, 4, 5.
    expect(series[0]!.data).toEqual([
      [10, 3],
      [20, 3],
    ]);
    expect(series[1]!.data).toEqual([
      [10, 40],
      [20, 80],
    ]);
  });

  it('keeps each optimizer to its own pairs', () => {
    // Runs 1, 2 are adam and runs 3, 4 sgd; the four cross pairs have value 100 and must not count.
    const runs = makeRuns(['adam', 'sgd'], 2);
    const valueOf = (a: number, b: number) => (a <= 2 && b <= 2 ? 1 : a > 2 && b > 2 ? 2 : 100);
    const tables = [{ step: 5, weight: makeTable(runs, 'l2', 5, valueOf), fn: makeTable(runs, 'symmetricKl', 5, valueOf) }];

    const series = buildDistanceOverStepsOption({ tables, runs, weightMetric: 'l2', functionMetric: 'symmetricKl', theme: 'light' }).series as Series[];

    expect(series.map((each) => each.name)).toEqual(['adam', 'adam', 'sgd', 'sgd']);
    expect(series.map((each) => each.data)).toEqual([[[5, 1]], [[5, 1]], [[5, 2]], [[5, 2]]]);
  });

  it('uses a log step axis and distance axes from 0', () => {
    const runs = makeRuns(['adam'], 2);
    const tables = [0, 1, 10, 100].map((step) => ({ step, weight: makeTable(runs, 'alignedL2', step, () => 8 + step), fn: makeTable(runs, 'fisherRao', step, () => 1) }));

    const option = buildDistanceOverStepsOption({ tables, runs, weightMetric: 'alignedL2', functionMetric: 'fisherRao', theme: 'light' });
    const series = option.series as Series[];
    const yAxes = option.yAxis as Array<{ name: string; min: number; scale: boolean }>;

    expect((option.xAxis as { type: string }).type).toBe('log');
    expect(series[0]!.data.map((point) => point[0])).toEqual([1, 10, 100]);
    expect(yAxes.map((axis) => axis.min)).toEqual([0, 0]);
    expect(yAxes.map((axis) => axis.scale)).toEqual([false, false]);
    expect(yAxes.map((axis) => axis.name)).toEqual(['median Fisher–Rao (rad), solid', 'median aligned L2, dashed']);
  });
});

describe('buildWeightVsKlOption axes', () => {
  it('names both axes with display names and units', () => {
    const runs = makeRuns(['adam'], 2);
    const points = joinPairs(makeTable(runs, 'alignedL2', 5, () => 1), makeTable(runs, 'jensenShannon', 5, () => 2), runs);

    const option = buildWeightVsKlOption({ points, runs, weightMetric: 'alignedL2', functionMetric: 'jensenShannon', step: 5, theme: 'light' });

    expect((option.xAxis as { name: string }).name).toBe('weight distance: aligned L2');
    expect((option.yAxis as { name: string }).name).toBe('function distance: Jensen–Shannon (nats)');
  });
});

