import { describe, expect, it } from 'vitest';
import { centerActivations, linearCka } from '../../../core/analysis/representation';
import { seededNormal } from './builders';

function randomMatrix(seed: number, rows: number, columns: number): Float64Array {
  const normal = seededNormal(seed);
  return Float64Array.from({ length: rows * columns }, () => normal());
}

/** X·Q for a random orthogonal Q [d, d], built by Gram–Schmidt. */
function rotate(x: Float64Array, rows: number, d: number, seed: number): Float64Array {
  const normal = seededNormal(seed);
  const basis: number[][] = [];
  while (basis.length < d) {
    const vector = Array.from({ length: d }, () => normal());
    for (const previous of basis) {
      const dot = vector.reduce((sum, value, k) => sum + value * previous[k]!, 0);
      for (let k = 0; k < d; k += 1) vector[k] -= dot * previous[k]!;
    }
    const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
    basis.push(vector.map((value) => value / norm));
  }
  const result = new Float64Array(rows * d);
  for (let row = 0; row < rows; row += 1) {
    for (let j = 0; j < d; j += 1) {
      let sum = 0;
      for (let k = 0; k < d; k += 1) sum += x[row * d + k]! * basis[j]![k]!;
      result[row * d + j] = sum;
    }
  }
  return result;
}

/** CKA through the n×n kernels: HSIC(K, L) / √(HSIC(K, K)·HSIC(L, L)) with K = XXᵀ centred. */
function naiveCka(x: Float64Array, y: Float64Array, n: number, dx: number, dy: number): number {
  const kernel = (m: Float64Array, d: number) => {
    const k = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
      let sum = 0;
      for (let f = 0; f < d; f += 1) sum += m[i * d + f]! * m[j * d + f]!;
      return sum;
    }));
    const rowMeans = k.map((row) => row.reduce((sum, value) => sum + value, 0) / n);
    const grand = rowMeans.reduce((sum, value) => sum + value, 0) / n;
    return k.map((row, i) => row.map((value, j) => value - rowMeans[i]! - rowMeans[j]! + grand));
  };
  const kx = kernel(x, dx);
  const ky = kernel(y, dy);
  const hsic = (a: number[][], b: number[][]) => a.reduce((sum, row, i) => sum + row.reduce((inner, value, j) => inner + value * b[i]![j]!, 0), 0);
  return hsic(kx, ky) / Math.sqrt(hsic(kx, kx) * hsic(ky, ky));
}

describe('linearCka', () => {
  it('is 1 for identical inputs', () => {
    const x = centerActivations(randomMatrix(1, 50, 6), 6);
    expect(linearCka(x, x)).toBeCloseTo(1, 12);
  });

  it('is invariant to orthogonal transforms and scaling', () => {
    const raw = randomMatrix(2, 40, 5);
    const other = randomMatrix(3, 40, 7);
    const rotated = rotate(raw, 40, 5, 4).map((value) => 3 * value);
    const reference = linearCka(centerActivations(raw, 5), centerActivations(other, 7));
    expect(linearCka(centerActivations(rotated, 5), centerActivations(other, 7))).toBeCloseTo(reference, 12);
    expect(linearCka(centerActivations(raw, 5), centerActivations(rotated, 5))).toBeCloseTo(1, 12);
  });

  it('matches the kernel form', () => {
    const x = randomMatrix(5, 30, 4);
    const y = randomMatrix(6, 30, 3);
    expect(linearCka(centerActivations(x, 4), centerActivations(y, 3))).toBeCloseTo(naiveCka(x, y, 30, 4, 3), 12);
  });

  it('is invariant to a mean shift', () => {
    const x = randomMatrix(7, 20, 3);
    const shifted = x.map((value) => value + 5);
    expect(linearCka(centerActivations(x, 3), centerActivations(shifted, 3))).toBeCloseTo(1, 12);
  });

  it('matches a hand-derived case', () => {
    // X = (1, 2, 3)ᵀ and Y = (1, 0, 2)ᵀ: centred x = (−1, 0, 1), y = (0, −1, 1), ⟨x, y⟩ = 1, ‖x‖² = ‖y‖² = 2,
    // so CKA = 1² / (2·2) = 1/4.
    expect(linearCka(centerActivations([1, 2, 3], 1), centerActivations([1, 0, 2], 1))).toBeCloseTo(0.25, 15);
  });

  it('is NaN for constant activations and for no examples', () => {
    const constant = centerActivations([2, 2, 2, 2], 2);
    const varied = centerActivations([1, 2, 3, 5], 2);
    expect(linearCka(constant, varied)).toBeNaN();
    expect(linearCka(centerActivations([], 2), centerActivations([], 2))).toBeNaN();
  });

  it('is NaN when an activation is NaN', () => {
    expect(linearCka(centerActivations([1, Number.NaN, 3], 1), centerActivations([1, 2, 3], 1))).toBeNaN();
  });

  it('leaves its input unchanged', () => {
    const raw = Float32Array.from([1, 2, 3, 4]);
    centerActivations(raw, 2);
    expect(Array.from(raw)).toEqual([1, 2, 3, 4]);
  });

  it('rejects mismatched example counts', () => {
    expect(() => linearCka(centerActivations([1, 2], 1), centerActivations([1, 2, 3], 1))).toThrow(/example count/);
  });
});
