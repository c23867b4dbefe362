import { describe, expect, it } from 'vitest';
import { computeConsistency, interquartileText, spreadOf } from '../../../../renderer/src/lib/charts/consistency';
import { joinPairs } from '../../../../renderer/src/lib/charts/distances';
import { makeRuns, makeTable } from './builders';

describe('spreadOf', () => {
  it('gives median and quartiles of finite values and counts the rest', () => {
    const spread = spreadOf([1, 2, 3, 4, 5, Number.NaN]);

    expect(spread).toEqual({ median: 3, q25: 2, q75: 4, count: 5, nonFinite: 1 });
  });
});

describe('computeConsistency', () => {
  it('uses same-optimizer pairs only and sorts the most consistent first', () => {
    const descriptors = makeRuns(['sgd', 'adam'], 3);
    const runs = descriptors.map((run) => ({ id: run.id, optimizerLabel: run.optimizer, finalValidationLoss: run.id / 10 }));
    // sgd runs are 1..3, adam 4..6; cross pairs get a huge distance that must not count.
    const functionDistance = (a: number, b: number): number => {
      if (b <= 3) return 1;
      if (a >= 4) return 0.1;
      return 100;
    };
    const fn = makeTable(descriptors, 'symmetricKl', 9, functionDistance);
    const weight = makeTable(descriptors, 'alignedL2', 9, (a, b) => b - a);

    const rows = computeConsistency(runs, joinPairs(weight, fn, descriptors));

    expect(rows.map((row) => row.optimizer)).toEqual(['adam', 'sgd']);
    expect(rows[0]!.pairs).toBe(3);
    expect(rows[0]!.functionDistance.median).toBe(0.1);
    expect(rows[1]!.functionDistance.median).toBe(1);
    expect(rows[1]!.weightDistance.median).toBe(1);
    expect(rows[1]!.finalValidationLoss.median).toBeCloseTo(0.2, 12);
  });

  it('reports an optimizer with one run as having no pairs', () => {
    const descriptors = makeRuns(['sgd'], 1);
    const rows = computeConsistency([{ id: 1, optimizerLabel: 'sgd', finalValidationLoss: null }], []);

    expect(descriptors).toHaveLength(1);
    expect(rows[0]!.pairs).toBe(0);
    expect(rows[0]!.functionDistance.median).toBeNaN();
    expect(rows[0]!.finalValidationLoss.nonFinite).toBe(1);
  });
});

describe('interquartileText', () => {
  it('shows the quartiles of two or more values', () => {
    expect(interquartileText(spreadOf([1, 2, 3, 4, 5]))).toBe('2 – 4');
  });

  it('shows a dash for one value', () => {
    expect(interquartileText(spreadOf([0.07574]))).toBe('—');
  });

  it('shows a dash for no finite value', () => {
    expect(interquartileText(spreadOf([Number.NaN]))).toBe('—');
  });
});
