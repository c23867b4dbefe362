/** Small deterministic builders for analysis tests. */

/** Mulberry32: a seeded uniform generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box–Muller. */
export function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** Random logits [positions, vocab] with the given scale. */
export function randomLogits(seed: number, positions: number, vocab: number, scale = 2): Float32Array {
  const normal = seededNormal(seed);
  return Float32Array.from({ length: positions * vocab }, () => scale * normal());
}

/** Log of the given probability rows, flattened; log(0) = -Infinity. */
export function logOf(rows: number[][]): Float64Array {
  return Float64Array.from(rows.flat().map((value) => Math.log(value)));
}

/** Draws a random permutation of 0..n-1. */
export function randomPermutation(seed: number, n: number): number[] {
  const uniform = seededRandom(seed);
  const permutation = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(uniform() * (i + 1));
    [permutation[i], permutation[j]] = [permutation[j]!, permutation[i]!];
  }
  return permutation;
}
