import { describe, expect, it } from 'vitest';
import { mean, median, quantile, standardDeviation } from '../../../../renderer/src/lib/charts/stats';

describe('quantile', () => {
  it('interpolates between order statistics', () => {
    expect(quantile([4, 1, 3, 2], 0.25)).toBeCloseTo(1.75, 12);
  });

  it('ignores NaN and infinities', () => {
    expect(median([1, Number.NaN, 3, Infinity, -Infinity])).toBe(2);
  });

  it('is NaN without finite values', () => {
    expect(median([Number.NaN])).toBeNaN();
    expect(median([])).toBeNaN();
  });
});

describe('standardDeviation', () => {
  it('uses the n - 1 denominator', () => {
    expect(standardDeviation([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 12);
  });

  it('is 0 for one value and NaN for none', () => {
    expect(standardDeviation([7])).toBe(0);
    expect(standardDeviation([Number.NaN])).toBeNaN();
  });
});

describe('mean', () => {
  it('averages finite values only', () => {
    expect(mean([1, 3, Number.NaN])).toBe(2);
  });
});
