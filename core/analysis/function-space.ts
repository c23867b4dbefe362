/**
 * Function-space distances between two runs on the probe set.
 *
 * A run's probe output is a table of categorical distributions, one per probe
 * position, stored as float32 log-probabilities [probeSize, contextLength,
 * vocab]. Each row is renormalised with log-sum-exp, so logits work too, and
 * every sum is accumulated in float64. Zero probabilities are exact:
 * 0·log 0 = 0, and KL(p‖q) is +Infinity where q = 0 < p. A row that contains
 * NaN or +Infinity, or whose entries are all -Infinity, is not a distribution,
 * and every metric at that position is NaN.
 */

/** One run's probe distributions, prepared once and reused for every pair. */
export interface ProbeDistribution {
  positions: number;
  vocab: number;
  /** Normalised log-probabilities [positions, vocab]; a row of NaN marks an invalid position. */
  logProbs: Float64Array;
  /** exp(logProbs) [positions, vocab]. */
  probs: Float64Array;
  /** sqrt(probs) [positions, vocab], the point on the unit sphere used by Hellinger and Fisher–Rao. */
  sqrtProbs: Float64Array;
  /** Index of the most probable token per position (first on ties); -1 for an invalid position. */
  top1: Int32Array;
}

/**
 * Pair metrics, all in nats where a unit applies: klAB = KL(a‖b), klBA =
 * KL(b‖a), symmetricKl = klAB + klBA (Jeffreys), jensenShannon in [0, ln 2],
 * fisherRao = 2·arccos(Σ√(pq)) in [0, π], hellinger = √(½Σ(√p − √q)²) in
 * [0, 1], totalVariation = ½Σ|p − q| in [0, 1], and top1Disagreement, 1 where
 * the most probable tokens differ.
 */
export const FUNCTION_METRICS = [
  'klAB',
  'klBA',
  'symmetricKl',
  'jensenShannon',
  'fisherRao',
  'hellinger',
  'totalVariation',
  'top1Disagreement',
] as const;

export type FunctionMetric = (typeof FUNCTION_METRICS)[number];

/** Per-position values of every function metric, each [positions]. */
export type PositionMetrics = Record<FunctionMetric, Float64Array>;

/**
 * Prepares a flat array of log-probabilities (or logits) [positions, vocab]
 * for pair comparisons. The input is not modified.
 */
export function prepareDistribution(logProbs: ArrayLike<number>, vocab: number): ProbeDistribution {
  if (!Number.isInteger(vocab) || vocab < 1) throw new Error(`vocab must be a positive integer; received ${vocab}`);
  if (logProbs.length % vocab !== 0) {
    throw new Error(`log-probabilities hold ${logProbs.length} values, not a multiple of the vocabulary size ${vocab}`);
  }

  const positions = logProbs.length / vocab;
  const normalised = new Float64Array(logProbs.length);
  const probs = new Float64Array(logProbs.length);
  const sqrtProbs = new Float64Array(logProbs.length);
  const top1 = new Int32Array(positions);

  for (let position = 0; position < positions; position += 1) {
    const offset = position * vocab;
    const logNormaliser = logSumExp(logProbs, offset, vocab);

    if (!Number.isFinite(logNormaliser)) {
      normalised.fill(Number.NaN, offset, offset + vocab);
      probs.fill(Number.NaN, offset, offset + vocab);
      sqrtProbs.fill(Number.NaN, offset, offset + vocab);
      top1[position] = -1;
      continue;
    }

    let best = 0;
    for (let k = 0; k < vocab; k += 1) {
      const value = logProbs[offset + k]! - logNormaliser;
      const probability = Math.exp(value);
      normalised[offset + k] = value;
      probs[offset + k] = probability;
      sqrtProbs[offset + k] = Math.sqrt(probability);
      if (value > normalised[offset + best]!) best = k;
    }
    top1[position] = best;
  }
  return { positions, vocab, logProbs: normalised, probs, sqrtProbs, top1 };
}

/**
 * Returns log Σ exp(values[offset .. offset+count)), or NaN when a value is NaN
 * or +Infinity, or -Infinity when every value is -Infinity.
 */
export function logSumExp(values: ArrayLike<number>, offset = 0, count = values.length - offset): number {
  let max = -Infinity;
  for (let k = 0; k < count; k += 1) {
    const value = values[offset + k]!;
    if (Number.isNaN(value) || value === Infinity) return Number.NaN;
    if (value > max) max = value;
  }
  if (max === -Infinity) return -Infinity;

  let sum = 0;
  for (let k = 0; k < count; k += 1) sum += Math.exp(values[offset + k]! - max);
  return max + Math.log(sum);
}

/**
 * Computes every function metric at every position of two prepared runs.
 * Both must have the same positions and vocabulary.
 */
export function comparePositions(a: ProbeDistribution, b: ProbeDistribution): PositionMetrics {
  checkSameShape(a, b);
  const { positions, vocab } = a;
  const result = Object.fromEntries(FUNCTION_METRICS.map((name) => [name, new Float64Array(positions)])) as PositionMetrics;

  for (let position = 0; position < positions; position += 1) {
    const offset = position * vocab;
    if (a.top1[position] === -1 || b.top1[position] === -1) {
      for (const name of FUNCTION_METRICS) result[name][position] = Number.NaN;
      continue;
    }

    let klAB = 0;
    let klBA = 0;
    let jensenShannon = 0;
    let chordSquared = 0;
    let absoluteDifference = 0;
    for (let k = offset; k < offset + vocab; k += 1) {
      const p = a.probs[k]!;
      const q = b.probs[k]!;
      const logP = a.logProbs[k]!;
      const logQ = b.logProbs[k]!;

      const chord = a.sqrtProbs[k]! - b.sqrtProbs[k]!;
      chordSquared += chord * chord;
      absoluteDifference += Math.abs(p - q);

      // A zero probability on either side contributes exactly 0 to the sums
      // it weights, whatever the other log-probability is (0·log 0 = 0).
      if (p > 0 && q > 0) {
        const logMixture = Math.log(0.5 * (p + q));
        klAB += p * (logP - logQ);
        klBA += q * (logQ - logP);
        jensenShannon += p * (logP - logMixture) + q * (logQ - logMixture);
      } else if (p > 0) {
        klAB += p * (logP - logQ);
        jensenShannon += p * Math.LN2;
      } else if (q > 0) {
        klBA += q * (logQ - logP);
        jensenShannon += q * Math.LN2;
      }
    }

    result.klAB[position] = Math.max(0, klAB);
    result.klBA[position] = Math.max(0, klBA);
    result.symmetricKl[position] = result.klAB[position]! + result.klBA[position]!;
    result.jensenShannon[position] = Math.min(Math.LN2, Math.max(0, 0.5 * jensenShannon));
    result.fisherRao[position] = fisherRaoFromChord(Math.sqrt(chordSquared));
    result.hellinger[position] = Math.min(1, Math.sqrt(0.5 * chordSquared));
    result.totalVariation[position] = Math.min(1, 0.5 * absoluteDifference);
    result.top1Disagreement[position] = a.top1[position] === b.top1[position] ? 0 : 1;
  }
  return result;
}

/**
 * Converts the chord ‖√p − √q‖ between two points of the unit sphere to the
 * Fisher–Rao distance 2·arccos(Σ√(pq)). The angle θ between √p and √q has
 * chord 2·sin(θ/2), so the distance is 2θ = 4·asin(chord / 2), which keeps
 * full precision near 0 where arccos of a value close to 1 does not.
 */
export function fisherRaoFromChord(chord: number): number {
  if (Number.isNaN(chord)) return Number.NaN;
  return Math.min(Math.PI, 4 * Math.asin(Math.min(1, chord / 2)));
}

/** Averages each per-position metric over positions; a NaN position makes the mean NaN. */
export function meanPositionMetrics(metrics: PositionMetrics): Record<FunctionMetric, number> {
  const means = {} as Record<FunctionMetric, number>;
  for (const name of FUNCTION_METRICS) means[name] = mean(metrics[name]);
  return means;
}

/** Function metrics of one pair, averaged over probe positions. */
export function compareDistributions(a: ProbeDistribution, b: ProbeDistribution): Record<FunctionMetric, number> {
  return meanPositionMetrics(comparePositions(a, b));
}

/**
 * Returns KL(p‖q) per position, for distributions given as prepared runs.
 * Used for KL(p*‖p_θ) against a known true distribution and for KL to the
 * ensemble mean.
 */
export function klPerPosition(p: ProbeDistribution, q: ProbeDistribution): Float64Array {
  checkSameShape(p, q);
  const result = new Float64Array(p.positions);
  for (let position = 0; position < p.positions; position += 1) {
    if (p.top1[position] === -1 || q.top1[position] === -1) {
      result[position] = Number.NaN;
      continue;
    }

    let kl = 0;
    const offset = position * p.vocab;
    for (let k = offset; k < offset + p.vocab; k += 1) {
      const probability = p.probs[k]!;
      if (probability > 0) kl += probability * (p.logProbs[k]! - q.logProbs[k]!);
    }
    result[position] = Math.max(0, kl);
  }
  return result;
}

/**
 * Builds the ensemble mean distribution p̄ = (1/n) Σ p_i of several runs,
 * position by position. An invalid position in any run is invalid in p̄.
 */
export function ensembleMean(runs: ProbeDistribution[]): ProbeDistribution {
  if (runs.length === 0) throw new Error('the ensemble mean needs at least one run; received none');
  const first = runs[0]!;
  for (const run of runs) checkSameShape(first, run);

  const meanProbs = new Float64Array(first.probs.length);
  for (const run of runs) {
    for (let k = 0; k < meanProbs.length; k += 1) meanProbs[k] += run.probs[k]!;
  }

  const logMean = new Float64Array(meanProbs.length);
  for (let k = 0; k < meanProbs.length; k += 1) logMean[k] = Math.log(meanProbs[k]! / runs.length);
  return prepareDistribution(logMean, first.vocab);
}

/** Arithmetic mean; NaN for an empty array or when any value is NaN. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum += values[i]!;
  return sum / values.length;
}

function checkSameShape(a: ProbeDistribution, b: ProbeDistribution): void {
  if (a.positions !== b.positions || a.vocab !== b.vocab) {
    throw new Error(
      `probe distributions differ in shape: [${a.positions}, ${a.vocab}] against [${b.positions}, ${b.vocab}]; compare runs of the same experiment and step`,
    );
  }
}
