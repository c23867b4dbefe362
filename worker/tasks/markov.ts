/**
 * A random Markov chain of order k over V tokens. Each transition row
 * p(· | previous k tokens) is drawn from a symmetric Dirichlet(concentration)
 * with a generator seeded by the task seed and the row's context, so rows are
 * computed on demand and at most MAX_CACHED_ROWS of the V^k rows are kept.
 *
 * A sequence of T + 1 tokens x_0 … x_T starts with k tokens drawn uniformly
 * and independently; every later token x_t is drawn from the row of
 * (x_{t-k}, …, x_{t-1}). Inputs are x_0 … x_{T-1}, targets x_1 … x_T. So the
 * true distribution of the target at input position i is uniform (1/V) when
 * i + 1 < k, and the transition row of the k tokens before it otherwise.
 */
import type { ModelConfig, TaskConfig } from '../../core/spec';
import { Rng } from '../rng';
import { allocateBatch, TaskError, type Task, type TaskSizes, type TokenBatch } from './task';

type MarkovConfig = Extract<TaskConfig, { kind: 'markov' }>;

/**
 * Smallest probability a transition may take. Dirichlet draws with a small
 * concentration underflow to exactly 0 in float64. The floor keeps every
 * log-probability finite, at a cost below 1e-30 in total mass per entry.
 */
const MIN_PROBABILITY = 1e-30;

/** Maximum number of rows cached at once. Beyond it the cache starts over. */
const MAX_CACHED_ROWS = 65_536;

export class MarkovChain {
  readonly vocabSize: number;
  readonly order: number;
  private readonly rows = new Map<number, Float64Array>();

  constructor(private readonly config: MarkovConfig) {
    this.vocabSize = config.vocabSize;
    this.order = config.order;
    if (this.vocabSize ** this.order > Number.MAX_SAFE_INTEGER) {
      throw new TaskError(`markov task: vocabSize ${this.vocabSize} with order ${this.order} has too many contexts to index; lower task.order or task.vocabSize`);
    }
  }

  /** Returns p(· | context) where `context` indexes the previous k tokens in base V, oldest first. */
  row(context: number): Float64Array {
    const cached = this.rows.get(context);
    if (cached !== undefined) return cached;

    const rng = Rng.fromSeed(this.config.taskSeed, `markov.row.${context}`);
    const row = new Float64Array(this.vocabSize);
    let total = 0;
    for (let j = 0; j < this.vocabSize; j += 1) {
      row[j] = Math.max(rng.gamma(this.config.concentration), MIN_PROBABILITY);
      total += row[j];
    }
    for (let j = 0; j < this.vocabSize; j += 1) row[j] /= total;

    if (this.rows.size >= MAX_CACHED_ROWS) this.rows.clear();
    this.rows.set(context, row);
    return row;
  }

  /** Returns the context index of the k tokens ending just before `end` in `tokens`. */
  contextAt(tokens: ArrayLike<number>, end: number): number {
    let context = 0;
    for (let j = end - this.order; j < end; j += 1) context = context * this.vocabSize + tokens[j];
    return context;
  }

  /** Samples one sequence of `length` tokens into `out`. */
  sampleSequence(rng: Rng, out: Int32Array, length: number): void {
    for (let t = 0; t < length; t += 1) {
      out[t] = t < this.order ? rng.int(this.vocabSize) : rng.categorical(this.row(this.contextAt(out, t)));
    }
  }

  /** Fills `logProbs` ([seq, vocab] from `offset`) with log p*(x_{i+1} = · | x_0 … x_i) for each input position i. */
  trueLogProbs(tokens: ArrayLike<number>, seq: number, logProbs: Float32Array, offset: number): void {
    const uniform = -Math.log(this.vocabSize);
    for (let i = 0; i < seq; i += 1) {
      const base = offset + i * this.vocabSize;
      const next = i + 1;
      if (next < this.order) {
        logProbs.fill(uniform, base, base + this.vocabSize);
        continue;
      }
      const row = this.row(this.contextAt(tokens, next));
      for (let j = 0; j < this.vocabSize; j += 1) logProbs[base + j] = Math.log(row[j]);
    }
  }
}

export function buildMarkovTask(config: MarkovConfig, model: ModelConfig, sizes: TaskSizes): Task {
  const chain = new MarkovChain(config);
  const seq = model.contextLength;
  const sequence = new Int32Array(seq + 1);

  const sampleInto = (rng: Rng, count: number): TokenBatch => {
    const batch = allocateBatch(count, seq);
    for (let s = 0; s < count; s += 1) {
      chain.sampleSequence(rng, sequence, seq + 1);
      batch.inputs.set(sequence.subarray(0, seq), s * seq);
      batch.targets.set(sequence.subarray(1, seq + 1), s * seq);
    }
    return batch;
  };

  const validation = sampleInto(Rng.fromSeed(config.taskSeed, 'markov.validation'), sizes.validationSize);
  const probe = sampleInto(Rng.fromSeed(config.taskSeed, 'markov.probe'), sizes.probeSize);

  const probeTrueLogProbs = new Float32Array(probe.size * seq * chain.vocabSize);
  for (let s = 0; s < probe.size; s += 1) {
    chain.trueLogProbs(probe.inputs.subarray(s * seq, (s + 1) * seq), seq, probeTrueLogProbs, s * seq * chain.vocabSize);
  }

  return {
    kind: 'markov',
    vocabSize: chain.vocabSize,
    sequenceLength: seq,
    validation,
    probe,
    probeTrueLogProbs,
    sampleTrainBatch: sampleInto,
  };
}
