import { describe, expect, it } from 'vitest';
import { smoothSeries } from '../../../../renderer/src/lib/charts/smoothing';

describe('smoothSeries', () => {
  it('returns the input unchanged for weight 0', () => {
    expect(smoothSeries([3, 1, 2], 0)).toEqual([3, 1, 2]);
  });

  it('debiases the first point to the raw value', () => {
    expect(smoothSeries([4, 0], 0.5)[0]).toBeCloseTo(4, 12);
  });

  it('matches a hand-derived debiased average', () => {
    // s1 = 0.5·4 = 2, debiased 2/0.5 = 4; s2 = 0.5·2 + 0.5·0 = 1, debiased 1/0.75.
    const smoothed = smoothSeries([4, 0], 0.5);
    expect(smoothed[1]).toBeCloseTo(4 / 3, 12);
  });

  it('keeps non-finite points as NaN without spreading them', () => {
    const smoothed = smoothSeries([1, Number.NaN, Infinity, 1], 0.9);
    expect(smoothed[0]).toBe(1);
    expect(smoothed[1]).toBeNaN();
    expect(smoothed[2]).toBeNaN();
    expect(smoothed[3]).toBeCloseTo(1, 12);
  });

  it('rejects a weight of 1', () => {
    expect(() => smoothSeries([1], 1)).toThrow(/\[0, 1\)/);
  });

  it('does not mutate its input', () => {
    const values = [1, 2, 3];
    smoothSeries(values, 0.6);
    expect(values).toEqual([1, 2, 3]);
  });
});
