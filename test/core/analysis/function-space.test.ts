import { describe, expect, it } from 'vitest';
import {
  FUNCTION_METRICS,
  compareDistributions,
  comparePositions,
  ensembleMean,
  fisherRaoFromChord,
  klPerPosition,
  logSumExp,
  prepareDistribution,
} from '../../../core/analysis/function-space';
import { logOf, randomLogits } from './builders';

function pair(p: number[][], q: number[][]) {
  const vocab = p[0]!.length;
  return compareDistributions(prepareDistribution(logOf(p), vocab), prepareDistribution(logOf(q), vocab));
}

/** KL(p‖q) straight from the definition, on plain probabilities. */
function naiveKl(p: number[], q: number[]): number {
  return p.reduce((sum, pk, k) => (pk === 0 ? sum : sum + pk * Math.log(pk / q[k]!)), 0);
}

function softmax(logits: ArrayLike<number>, offset: number, vocab: number): number[] {
  const row = Array.from({ length: vocab }, (_, k) => logits[offset + k]!);
  const max = Math.max(...row);
  const exps = row.map((value) => Math.exp(value - max));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

describe('logSumExp', () => {
  it('matches the direct sum on small values', () => {
    expect(logSumExp([0, Math.log(2), Math.log(3)])).toBeCloseTo(Math.log(6), 14);
  });

  it('stays finite for large logits', () => {
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.LN2, 10);
  });

  it('is -Infinity when every value is -Infinity', () => {
    expect(logSumExp([-Infinity, -Infinity])).toBe(-Infinity);
  });

  it('is NaN for NaN or +Infinity inputs', () => {
    expect(logSumExp([0, Number.NaN])).toBeNaN();
    expect(logSumExp([0, Infinity])).toBeNaN();
  });
});

describe('prepareDistribution', () => {
  it('renormalises logits and leaves the input unchanged', () => {
    const logits = Float32Array.from([1, 2, 3, 0, 0, 0]);
    const copy = Float32Array.from(logits);
    const prepared = prepareDistribution(logits, 3);
    expect(logits).toEqual(copy);
    expect(prepared.positions).toBe(2);
    expect(prepared.probs[0]! + prepared.probs[1]! + prepared.probs[2]!).toBeCloseTo(1, 14);
    expect(prepared.probs[3]).toBeCloseTo(1 / 3, 14);
    expect(Array.from(prepared.top1)).toEqual([2, 0]);
  });

  it('rejects a length that is not a multiple of vocab', () => {
    expect(() => prepareDistribution([0, 0, 0], 2)).toThrow(/multiple of the vocabulary size 2/);
  });

  it('marks rows with NaN, +Infinity or no mass invalid', () => {
    const prepared = prepareDistribution([0, Number.NaN, 0, Infinity, -Infinity, -Infinity, 0, 0], 2);
    expect(Array.from(prepared.top1)).toEqual([-1, -1, -1, 0]);
  });
});

describe('compareDistributions', () => {
  it('matches hand-derived values for two Bernoullis', () => {
    const metrics = pair([[0.5, 0.5]], [[0.9, 0.1]]);
    // KL(p‖q) = ½ ln(5/9) + ½ ln 5 = ln(5/3). In SciPy 1.10.1, scipy.stats.entropy([1/2, 1/2], qk=[9/10, 1/10]) returns 0.5108256237659907.
    expect(metrics.klAB).toBeCloseTo(0.5108256237659907, 14);
    // KL(q‖p) = 0.9 ln 1.8 + 0.1 ln 0.2.
    expect(metrics.klBA).toBeCloseTo(0.9 * Math.log(1.8) + 0.1 * Math.log(0.2), 14);
    expect(metrics.klBA).toBeCloseTo(0.368064207, 8);
    expect(metrics.symmetricKl).toBeCloseTo(metrics.klAB + metrics.klBA, 14);
    // Σ√(pq) = √0.45 + √0.05 = 2/√5, so Fisher–Rao = 2·arccos(2/√5) = 2·atan(1/2).
    expect(metrics.fisherRao).toBeCloseTo(2 * Math.atan(0.5), 14);
    expect(metrics.hellinger).toBeCloseTo(Math.sqrt(1 - 2 / Math.sqrt(5)), 14);
    expect(metrics.totalVariation).toBeCloseTo(0.4, 14);
    expect(metrics.top1Disagreement).toBe(0);
  });

  it('matches the SciPy Jensen–Shannon example', () => {
    // SciPy documents scipy.spatial.distance.jensenshannon([1.0, 0.0], [0.5, 0.5]) = 0.46450140402245893,
    // the square root of the divergence. By hand, m = (3/4, 1/4), KL(p‖m) = ln(4/3), KL(q‖m) = ½ ln(4/3), so JS = ¾ ln(4/3).
    const metrics = pair([[1, 0]], [[0.5, 0.5]]);
    expect(metrics.jensenShannon).toBeCloseTo(0.75 * Math.log(4 / 3), 14);
    expect(Math.sqrt(metrics.jensenShannon)).toBeCloseTo(0.46450140402245893, 12);
  });

  it('is at the maxima for disjoint supports', () => {
    const metrics = pair([[1, 0, 0]], [[0, 1, 0]]);
    expect(metrics.jensenShannon).toBeCloseTo(Math.LN2, 14);
    expect(metrics.fisherRao).toBeCloseTo(Math.PI, 14);
    expect(metrics.hellinger).toBeCloseTo(1, 14);
    expect(metrics.totalVariation).toBe(1);
    expect(metrics.top1Disagreement).toBe(1);
    expect(metrics.klAB).toBe(Infinity);
    expect(metrics.klBA).toBe(Infinity);
  });

  it('is infinite where only q is zero', () => {
    const metrics = pair([[0.5, 0.5]], [[1, 0]]);
    expect(metrics.klAB).toBe(Infinity);
    expect(metrics.klBA).toBeCloseTo(Math.LN2, 14);
    expect(metrics.jensenShannon).toBeLessThan(Math.LN2);
  });

  it('is zero for equal inputs, zero probabilities included', () => {
    const metrics = pair([[0.2, 0, 0.8]], [[0.2, 0, 0.8]]);
    for (const name of FUNCTION_METRICS) expect(metrics[name]).toBe(0);
  });

  it('is zero for constant logits of any offset', () => {
    const vocab = 5;
    const a = prepareDistribution(new Float32Array(vocab).fill(3), vocab);
    const b = prepareDistribution(new Float32Array(vocab).fill(-7), vocab);
    const metrics = compareDistributions(a, b);
    for (const name of FUNCTION_METRICS) expect(metrics[name]).toBeCloseTo(0, 14);
  });

  it('is NaN at positions that are not distributions', () => {
    const a = prepareDistribution([0, Number.NaN, 0, 0], 2);
    const b = prepareDistribution([0, 0, 0, 0], 2);
    const positions = comparePositions(a, b);
    expect(positions.klAB[0]).toBeNaN();
    expect(positions.klAB[1]).toBe(0);
    expect(compareDistributions(a, b).klAB).toBeNaN();
  });

  it('is NaN for an empty probe set', () => {
    const empty = prepareDistribution([], 4);
    expect(compareDistributions(empty, empty).klAB).toBeNaN();
  });

  it('rejects runs of different shapes', () => {
    expect(() => compareDistributions(prepareDistribution([0, 0], 2), prepareDistribution([0, 0, 0], 3))).toThrow(/differ in shape/);
  });

  it('satisfies the metric properties on random distributions', () => {
    const vocab = 16;
    const positions = 200;
    const a = prepareDistribution(randomLogits(1, positions, vocab, 3), vocab);
    const b = prepareDistribution(randomLogits(2, positions, vocab, 3), vocab);
    const ab = comparePositions(a, b);
    const ba = comparePositions(b, a);
    const aa = comparePositions(a, a);

    for (let position = 0; position < positions; position += 1) {
      expect(ab.klAB[position]).toBeGreaterThan(0);
      expect(ab.klBA[position]).toBeGreaterThan(0);
      expect(aa.klAB[position]).toBe(0);
      expect(ab.klAB[position]).toBe(ba.klBA[position]);
      for (const name of ['symmetricKl', 'jensenShannon', 'fisherRao', 'hellinger', 'totalVariation', 'top1Disagreement'] as const) {
        expect(ab[name][position]).toBeCloseTo(ba[name][position]!, 14);
      }
      expect(ab.jensenShannon[position]).toBeLessThanOrEqual(Math.LN2);
      expect(ab.fisherRao[position]).toBeGreaterThanOrEqual(0);
      expect(ab.fisherRao[position]).toBeLessThanOrEqual(Math.PI);
    }
  });

  it('matches a naive reference on random logits', () => {
    const vocab = 8;
    const positions = 20;
    const logitsA = randomLogits(3, positions, vocab);
    const logitsB = randomLogits(4, positions, vocab);
    const ab = comparePositions(prepareDistribution(logitsA, vocab), prepareDistribution(logitsB, vocab));

    for (let position = 0; position < positions; position += 1) {
      const p = softmax(logitsA, position * vocab, vocab);
      const q = softmax(logitsB, position * vocab, vocab);
      const m = p.map((pk, k) => (pk + q[k]!) / 2);
      const bhattacharyya = p.reduce((sum, pk, k) => sum + Math.sqrt(pk * q[k]!), 0);
      expect(ab.klAB[position]).toBeCloseTo(naiveKl(p, q), 10);
      expect(ab.klBA[position]).toBeCloseTo(naiveKl(q, p), 10);
      expect(ab.jensenShannon[position]).toBeCloseTo(0.5 * naiveKl(p, m) + 0.5 * naiveKl(q, m), 10);
      expect(ab.fisherRao[position]).toBeCloseTo(2 * Math.acos(Math.min(1, bhattacharyya)), 6);
      expect(ab.totalVariation[position]).toBeCloseTo(0.5 * p.reduce((sum, pk, k) => sum + Math.abs(pk - q[k]!), 0), 10);
    }
  });
});

describe('fisherRaoFromChord', () => {
  it('keeps precision where arccos loses it', () => {
    // For p = (½ + ε, ½ − ε) and q = (½, ½) the Fisher metric gives ds² = Σ dp²/p = 4ε², so the distance is 2ε
    // to first order. Σ√(pq) is within one rounding step of 1 in float64 here, so 2·arccos(Σ√(pq)) is off more than tenfold.
    const epsilon = 1e-9;
    const bhattacharyya = Math.sqrt(0.5 * (0.5 + epsilon)) + Math.sqrt(0.5 * (0.5 - epsilon));
    expect(2 * Math.acos(Math.min(1, bhattacharyya)) / (2 * epsilon)).toBeGreaterThan(10);
    const metrics = pair([[0.5 + epsilon, 0.5 - epsilon]], [[0.5, 0.5]]);
    expect(metrics.fisherRao / (2 * epsilon)).toBeCloseTo(1, 5);
  });

  it('is NaN for NaN and capped at pi', () => {
    expect(fisherRaoFromChord(Number.NaN)).toBeNaN();
    expect(fisherRaoFromChord(2)).toBe(Math.PI);
  });
});

describe('klPerPosition', () => {
  it('is the divergence from a known distribution', () => {
    const truth = prepareDistribution(logOf([[0.5, 0.5], [1, 0]]), 2);
    const model = prepareDistribution(logOf([[0.9, 0.1], [0.5, 0.5]]), 2);
    const kl = klPerPosition(truth, model);
    expect(kl[0]).toBeCloseTo(Math.log(5 / 3), 14);
    expect(kl[1]).toBeCloseTo(Math.LN2, 14);
  });
});

describe('ensembleMean', () => {
  it('averages probabilities, not log-probabilities', () => {
    const mean = ensembleMean([prepareDistribution(logOf([[1, 0]]), 2), prepareDistribution(logOf([[0, 1]]), 2)]);
    expect(Array.from(mean.probs)).toEqual([0.5, 0.5]);
  });

  it('rejects an empty ensemble', () => {
    expect(() => ensembleMean([])).toThrow(/at least one run/);
  });
});
