import { describe, expect, it } from 'vitest';
import { classicalMds } from '../../../core/analysis/mds';

function pairwise(points: number[][]): number[][] {
  return points.map((p) => points.map((q) => Math.hypot(...p.map((value, k) => value - q[k]!))));
}

describe('classicalMds', () => {
  it('reproduces the distances of planar points', () => {
    const points = [[0, 0], [3, 0], [0, 4], [1, 1], [-2, 5]];
    const distances = pairwise(points);
    const { coordinates, explained } = classicalMds(distances);
    const recovered = pairwise(coordinates);
    for (let i = 0; i < points.length; i += 1) {
      for (let j = 0; j < points.length; j += 1) expect(recovered[i]![j]).toBeCloseTo(distances[i]![j]!, 9);
    }
    expect(explained).toBeCloseTo(1, 9);
  });

  it('places two points at their distance on the first axis', () => {
    const { coordinates, eigenvalues } = classicalMds([[0, 6], [6, 0]]);
    expect(Math.abs(coordinates[0]![0]! - coordinates[1]![0]!)).toBeCloseTo(6, 12);
    expect(coordinates[0]![1]).toBe(0);
    // B = −½ J D² J has eigenvalue 2·(6/2)² = 18 along the line.
    expect(eigenvalues[0]).toBeCloseTo(18, 10);
  });

  it('handles one point and no points', () => {
    expect(classicalMds([[0]]).coordinates).toEqual([[0, 0]]);
    expect(classicalMds([]).coordinates).toEqual([]);
  });

  it('puts identical points at the origin', () => {
    const { coordinates } = classicalMds([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
    for (const point of coordinates) expect(point).toEqual([0, 0]);
  });

  it('rejects non-finite and non-square input', () => {
    expect(() => classicalMds([[0, Infinity], [Infinity, 0]])).toThrow(/finite distances/);
    expect(() => classicalMds([[0, Number.NaN], [Number.NaN, 0]])).toThrow(/finite distances/);
    expect(() => classicalMds([[0, 1]])).toThrow(/square/);
  });

  it('leaves its input unchanged', () => {
    const distances = [[0, 1], [1, 0]];
    classicalMds(distances);
    expect(distances).toEqual([[0, 1], [1, 0]]);
  });
});
