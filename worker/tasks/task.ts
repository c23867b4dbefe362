/**
 * What the trainer and the analysis need from a task: token sequences for
 * training, validation and probing, and the true next-token distribution
 * where the task defines one.
 */
import type { Rng } from '../rng';

/**
 * A set of sequences, row-major. `targets[i]` is the token that follows
 * `inputs[i]`; a target of -1 marks a position that carries no loss and no
 * probe measurement (only the answer position of `modular` carries them).
 */
export interface TokenBatch {
  /** Number of sequences. */
  size: number;
  /** Tokens per sequence. */
  seq: number;
  /** [size, seq] token ids. */
  inputs: Int32Array;
  /** [size, seq] next-token ids, or -1 where no loss is taken. */
  targets: Int32Array;
}

export interface Task {
  readonly kind: 'markov' | 'modular' | 'text';
  /** Number of distinct tokens V; the model's vocabulary size. */
  readonly vocabSize: number;
  /** Tokens per sequence, at most the model's context length. */
  readonly sequenceLength: number;
  /** Validation set, fixed by the task seed and independent of the run's seeds. */
  readonly validation: TokenBatch;
  /** Probe set, fixed by the task seed, on which function-space distances are measured. */
  readonly probe: TokenBatch;
  /**
   * log p*(next token | prefix) on the probe set, [probeSize, seq, vocab],
   * for tasks whose true distribution is known (`markov`); otherwise absent.
   */
  readonly probeTrueLogProbs?: Float32Array;
  /** Draws `batchSize` training sequences. All randomness comes from `rng` (the run's data stream). */
  sampleTrainBatch(rng: Rng, batchSize: number): TokenBatch;
}

export interface TaskSizes {
  probeSize: number;
  validationSize: number;
}

/** Error for task settings or files that cannot make a task. The message names the problem and the fix. */
export class TaskError extends Error {
  override readonly name = 'TaskError';
}

export function allocateBatch(size: number, seq: number): TokenBatch {
  return { size, seq, inputs: new Int32Array(size * seq), targets: new Int32Array(size * seq) };
}
