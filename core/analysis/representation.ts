/**
 * Linear CKA between residual-stream activations of two runs on the probe
 * set: CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F) after centring each
 * feature over the examples. It is 1 for identical inputs and unchanged by
 * orthogonal transforms and isotropic scaling of either side.
 */

/** One run's activations at one layer, centred and ready for pair comparisons. */
export interface CenteredActivations {
  examples: number;
  features: number;
  /** Centred activations [examples, features], float64. */
  values: Float64Array;
  /** ‖XᵀX‖_F of the centred activations. */
  selfNorm: number;
}

/** Centres activations [examples, features]; the input is not modified. */
export function centerActivations(activations: ArrayLike<number>, features: number): CenteredActivations {
  if (!Number.isInteger(features) || features < 1) throw new Error(`features must be a positive integer; received ${features}`);
  if (activations.length % features !== 0) {
    throw new Error(`activations hold ${activations.length} values, not a multiple of the feature count ${features}`);
  }

  const examples = activations.length / features;
  const values = Float64Array.from(activations);
  for (let feature = 0; feature < features; feature += 1) {
    let sum = 0;
    for (let example = 0; example < examples; example += 1) sum += values[example * features + feature]!;
    const mean = sum / examples;
    for (let example = 0; example < examples; example += 1) values[example * features + feature] -= mean;
  }
  const centered = { examples, features, values, selfNorm: 0 };
  centered.selfNorm = Math.sqrt(crossFrobeniusSquared(centered, centered));
  return centered;
}

/** Linear CKA in [0, 1]; NaN when either side is constant over the examples, or for no examples. */
export function linearCka(x: CenteredActivations, y: CenteredActivations): number {
  if (x.examples !== y.examples) {
    throw new Error(`activations differ in example count: ${x.examples} against ${y.examples}; compare runs on the same probe set`);
  }
  const denominator = x.selfNorm * y.selfNorm;
  if (!(denominator > 0)) return Number.NaN;
  return Math.min(1, Math.max(0, crossFrobeniusSquared(x, y) / denominator));
}

/** ‖YᵀX‖²_F, accumulated as the Gram matrix [x.features, y.features] row by row. */
function crossFrobeniusSquared(x: CenteredActivations, y: CenteredActivations): number {
  const cross = new Float64Array(x.features * y.features);
  for (let example = 0; example < x.examples; example += 1) {
    const xOffset = example * x.features;
    const yOffset = example * y.features;
    for (let i = 0; i < x.features; i += 1) {
      const value = x.values[xOffset + i]!;
      if (value === 0) continue;
      const rowOffset = i * y.features;
      for (let j = 0; j < y.features; j += 1) cross[rowOffset + j] += value * y.values[yOffset + j]!;
    }
  }

  let total = 0;
  for (let k = 0; k < cross.length; k += 1) total += cross[k]! * cross[k]!;
  return total;
}
