/**
 * Classical (Torgerson) multidimensional scaling: coordinates whose Euclidean
 * distances best match a distance matrix, from the top eigenvectors of the
 * double-centred squared distances B = −½ J D² J.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

export interface MdsResult {
  /** [n][dimensions] */
  coordinates: number[][];
  /** Eigenvalues of B for the kept axes, largest first; an axis with a negative eigenvalue gets coordinates 0. */
  eigenvalues: number[];
  /** Share of the positive spectrum of B carried by the kept axes, in [0, 1]; NaN when B has none. */
  explained: number;
}

/**
 * Embeds n points from a symmetric n×n distance matrix. Throws on a
 * non-square matrix or a non-finite distance, because the embedding of a
 * matrix with missing distances is undefined.
 */
export function classicalMds(distances: number[][], dimensions = 2): MdsResult {
  const n = distances.length;
  for (const row of distances) {
    if (row.length !== n) throw new Error(`distance matrix must be square; received ${n} rows and a row of ${row.length}`);
    for (const value of row) {
      if (!Number.isFinite(value)) throw new Error(`distance matrix contains ${value}; MDS needs finite distances`);
    }
  }
  if (n === 0) return { coordinates: [], eigenvalues: [], explained: Number.NaN };

  const centred = doubleCentre(distances);
  const decomposition = new EigenvalueDecomposition(centred, { assumeSymmetric: true });
  const values = decomposition.realEigenvalues;
  const vectors = decomposition.eigenvectorMatrix;
  const order = values.map((_, i) => i).sort((i, j) => values[j]! - values[i]!);

  const kept = order.slice(0, dimensions);
  const coordinates = Array.from({ length: n }, () => new Array<number>(dimensions).fill(0));
  kept.forEach((axis, dimension) => {
    const eigenvalue = values[axis]!;
    if (eigenvalue <= 0) return;
    const column = vectors.getColumn(axis);
    const sign = signOfLargest(column);
    const scale = Math.sqrt(eigenvalue);
    for (let i = 0; i < n; i += 1) coordinates[i]![dimension] = sign * column[i]! * scale;
  });

  const positiveTotal = values.reduce((sum, value) => sum + Math.max(0, value), 0);
  const keptTotal = kept.reduce((sum, axis) => sum + Math.max(0, values[axis]!), 0);
  return {
    coordinates,
    eigenvalues: kept.map((axis) => values[axis]!),
    explained: positiveTotal > 0 ? keptTotal / positiveTotal : Number.NaN,
  };
}

function doubleCentre(distances: number[][]): Matrix {
  const n = distances.length;
  // Averaging with the transposed entry makes B exactly symmetric for a slightly asymmetric input.
  const squared = distances.map((row, i) => row.map((value, j) => 0.5 * (value * value + distances[j]![i]! ** 2)));
  const rowMeans = squared.map((row) => row.reduce((sum, value) => sum + value, 0) / n);
  const grandMean = rowMeans.reduce((sum, value) => sum + value, 0) / n;

  const centred = new Matrix(n, n);
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j < n; j += 1) {
      centred.set(i, j, -0.5 * (squared[i]![j]! - rowMeans[i]! - rowMeans[j]! + grandMean));
    }
  }
  return centred;
}

/** Fixes the sign of an eigenvector so that its largest-magnitude entry is positive, for stable charts. */
function signOfLargest(column: number[]): number {
  let largest = 0;
  for (const value of column) if (Math.abs(value) > Math.abs(largest)) largest = value;
  return largest < 0 ? -1 : 1;
}
