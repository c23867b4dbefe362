/**
 * Weight-space distances between two runs, whole model and per parameter
 * tensor, accumulated in float64.
 */
import type { ParameterMap } from './parameters';

export interface WeightDistance {
  /** Euclidean norm ‖θa − θb‖. */
  l2: number;
  /** ‖θa − θb‖ divided by the mean of ‖θa‖ and ‖θb‖; NaN when both norms are 0. */
  relativeL2: number;
  /** ⟨θa, θb⟩ / (‖θa‖·‖θb‖); NaN when either norm is 0. */
  cosine: number;
}

export interface WeightDistances {
  model: WeightDistance;
  /** Per parameter tensor, in the order of `a`. */
  tensors: Record<string, WeightDistance>;
}

interface Sums {
  dot: number;
  normA: number;
  normB: number;
  difference: number;
}

/**
 * Computes L2, relative L2 and cosine similarity between two parameter maps
 * with the same names and shapes. A NaN weight makes every affected value NaN.
 */
export function weightDistances(a: ParameterMap, b: ParameterMap): WeightDistances {
  checkSameParameters(a, b);
  const total: Sums = { dot: 0, normA: 0, normB: 0, difference: 0 };
  const tensors: Record<string, WeightDistance> = {};

  for (const [name, tensorA] of a) {
    const sums = accumulate(tensorA.data, b.get(name)!.data);
    tensors[name] = distanceFromSums(sums);
    total.dot += sums.dot;
    total.normA += sums.normA;
    total.normB += sums.normB;
    total.difference += sums.difference;
  }
  return { model: distanceFromSums(total), tensors };
}

function accumulate(a: ArrayLike<number>, b: ArrayLike<number>): Sums {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    normA += x * x;
    normB += y * y;
    difference += (x - y) * (x - y);
  }
  return { dot, normA, normB, difference };
}

function distanceFromSums(sums: Sums): WeightDistance {
  const normA = Math.sqrt(sums.normA);
  const normB = Math.sqrt(sums.normB);
  const l2 = Math.sqrt(sums.difference);
  const meanNorm = 0.5 * (normA + normB);
  const normProduct = normA * normB;
  return {
    l2,
    relativeL2: meanNorm === 0 ? Number.NaN : l2 / meanNorm,
    cosine: normProduct === 0 ? Number.NaN : Math.max(-1, Math.min(1, sums.dot / normProduct)),
  };
}

/** Throws unless both maps have the same names, in any order, with the same shapes. */
export function checkSameParameters(a: ParameterMap, b: ParameterMap): void {
  if (a.size !== b.size) {
    throw new Error(`parameter maps differ: ${a.size} tensors against ${b.size}; compare runs of the same model`);
  }
  for (const [name, tensorA] of a) {
    const tensorB = b.get(name);
    if (tensorB === undefined) throw new Error(`parameter "${name}" is missing from the second run; compare runs of the same model`);
    if (tensorA.shape.join(',') !== tensorB.shape.join(',')) {
      throw new Error(`parameter "${name}" has shape [${tensorA.shape.join(', ')}] against [${tensorB.shape.join(', ')}]`);
    }
  }
}
