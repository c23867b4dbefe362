/**
 * Seeded pseudo-random numbers for initialisation, data order and label
 * sampling. The generator is xoshiro128** (Blackman and Vigna, 2018): four
 * 32-bit words of state, so the state serialises to JSON and a resumed run
 * continues the exact sequence. Every stream is derived from a seed and a
 * stream name, so `initSeed`, `dataSeed` and `taskSeed` start from distinct states.
 */

/** The serialisable state of an `Rng`: four unsigned 32-bit words. */
export interface RngState {
  words: [number, number, number, number];
}

const TWO_POW_32 = 2 ** 32;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(words: [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = words.map((word) => word >>> 0) as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) {
      throw new RangeError('xoshiro128** state must not be all zeros; derive it with Rng.fromSeed');
    }
  }

  /** Creates the stream `stream` of seed `seed`, with state words from splitmix32 over a hash of both. */
  static fromSeed(seed: number, stream: string): Rng {
    if (!Number.isInteger(seed) || seed < 0 || seed >= TWO_POW_32) {
      throw new RangeError(`seed must be an integer in [0, 2^32); received ${seed}`);
    }

    // splitmix32 is a bijection on 32-bit words, so the first word fixes the
    // seed and the second the stream hash: distinct pairs give distinct states.
    const seedWord = splitmix32((seed + 0x9e3779b9) >>> 0);
    const streamWord = splitmix32((hashString(stream) + 0x9e3779b9) >>> 0);
    const mixWord = splitmix32((seedWord ^ streamWord) >>> 0);
    const words: [number, number, number, number] = [seedWord, streamWord, mixWord, splitmix32((mixWord + 0x9e3779b9) >>> 0)];
    if (words.every((word) => word === 0)) words[0] = 1;

    const rng = new Rng(words);
    // The first outputs of related states are correlated, so discarding them decorrelates the streams.
    for (let i = 0; i < 16; i += 1) rng.nextUint32();
    return rng;
  }

  static fromState(state: RngState): Rng {
    const words = state?.words;
    if (!Array.isArray(words) || words.length !== 4 || !words.every((word) => Number.isInteger(word) && word >= 0 && word < TWO_POW_32)) {
      throw new TypeError(`RNG state must be { words: [four integers in [0, 2^32)] }; received ${JSON.stringify(state)}`);
    }
    return new Rng([words[0], words[1], words[2], words[3]]);
  }

  state(): RngState {
    return { words: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Continues from a saved state, as if this generator had produced the same draws. */
  restore(state: RngState): void {
    [this.s0, this.s1, this.s2, this.s3] = Rng.fromState(state).state().words;
  }

  /** Returns the next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;

    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotateLeft(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** Returns a uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Returns a uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`upper bound must be a positive integer; received ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Returns a standard normal variate (Box–Muller, one variate per two uniforms, so no cached spare enters the state). */
  normal(): number {
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Returns a Gamma(shape, 1) variate by Marsaglia and Tsang's method, boosted for shape < 1. */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma shape must be positive and finite; received ${shape}`);
    if (shape < 1) {
      const u = 1 - this.uniform();
      return this.gamma(shape + 1) * u ** (1 / shape);
    }

    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const v0 = 1 + c * x;
      if (v0 <= 0) continue;
      const v = v0 * v0 * v0;
      const u = 1 - this.uniform();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** Returns an index drawn from the categorical distribution with the given probabilities (summing to about 1). */
  categorical(probabilities: ArrayLike<number>, offset = 0, length = probabilities.length - offset): number {
    const u = this.uniform();
    let cumulative = 0;
    for (let i = 0; i < length; i += 1) {
      cumulative += probabilities[offset + i];
      if (u < cumulative) return i;
    }
    // Rounding can leave the cumulative sum just under u. The last index with mass takes it.
    for (let i = length - 1; i >= 0; i -= 1) {
      if (probabilities[offset + i] > 0) return i;
    }
    return length - 1;
  }

  /** Fills `out` with independent normal variates of standard deviation `std`. */
  fillNormal(out: Float32Array, std: number): Float32Array {
    for (let i = 0; i < out.length; i += 1) out[i] = this.normal() * std;
    return out;
  }
}

function rotateLeft(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}

function splitmix32(input: number): number {
  let z = input >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
