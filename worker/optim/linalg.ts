/**
 * Dense float64 linear algebra on the CPU for the curvature optimizers, built
 * on ml-matrix. Matrices travel between TensorFlow.js (float32) and here as
 * row-major arrays.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { CurvatureError } from './errors';

/** Reads a 2-D tensor into a float64 matrix. */
export function matrixFromTensor(tensor: tf.Tensor): Matrix {
  const [rows, columns] = tensor.shape.length === 1 ? [1, tensor.shape[0]] : tensor.shape;
  return Matrix.from1DArray(rows, columns, Float64Array.from(tensor.dataSync() as Float32Array));
}

/** Returns the matrix as row-major float32 values, ready for `tf.tensor`. */
export function toFloat32(matrix: Matrix): Float32Array {
  const out = new Float32Array(matrix.rows * matrix.columns);
  for (let i = 0; i < matrix.rows; i += 1) {
    const row = matrix.getRow(i);
    for (let j = 0; j < matrix.columns; j += 1) out[i * matrix.columns + j] = row[j];
  }
  return out;
}

export function toFloat64(matrix: Matrix): Float64Array {
  return Float64Array.from(matrix.to1DArray());
}

export function allFinite(matrix: Matrix): boolean {
  for (let i = 0; i < matrix.rows; i += 1) {
    for (const value of matrix.getRow(i)) if (!Number.isFinite(value)) return false;
  }
  return true;
}

/**
 * Inverts `factor + damping · I` by Cholesky decomposition. The factor is a
 * covariance, so adding a positive damping makes it positive definite unless
 * it contains non-finite values. `label` names the factor in the error.
 */
export function dampedInverse(factor: Matrix, damping: number, label: string): Matrix {
  if (!allFinite(factor)) throw new CurvatureError(`Kronecker factor ${label} contains NaN or infinite values`, label);

  const damped = factor.clone();
  for (let i = 0; i < damped.rows; i += 1) damped.set(i, i, damped.get(i, i) + damping);
  const cholesky = new CholeskyDecomposition(damped);
  if (!cholesky.isPositiveDefinite()) {
    throw new CurvatureError(`Kronecker factor ${label} plus damping ${damping} is not positive definite; raise the damping`, label);
  }
  return cholesky.solve(Matrix.eye(damped.rows));
}

/**
 * Returns `S^(-1/root)` of a symmetric positive semi-definite matrix from its
 * eigendecomposition, with eigenvalues floored at `relativeFloor` times the
 * largest, so zero and negative (round-off) eigenvalues do not blow up.
 */
export function inverseRoot(matrix: Matrix, root: number, relativeFloor: number, label: string): Matrix {
  if (!allFinite(matrix)) throw new CurvatureError(`preconditioner ${label} contains NaN or infinite values`, label);

  const decomposition = new EigenvalueDecomposition(matrix, { assumeSymmetric: true });
  const eigenvalues = decomposition.realEigenvalues;
  const largest = Math.max(...eigenvalues);
  if (!(largest > 0)) {
    throw new CurvatureError(`preconditioner ${label} has no positive eigenvalue (largest ${largest})`, label);
  }

  const floor = largest * relativeFloor;
  const vectors = decomposition.eigenvectorMatrix;
  const scaled = vectors.clone();
  eigenvalues.forEach((value, k) => {
    const factor = Math.max(value, floor) ** (-1 / root);
    for (let i = 0; i < scaled.rows; i += 1) scaled.set(i, k, scaled.get(i, k) * factor);
  });
  return scaled.mmul(vectors.transpose());
}
