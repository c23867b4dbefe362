/**
 * Modular addition a + b = c (mod p), one equation per sequence.
 *
 * Tokens: 0 … p-1 are the numbers, p is `+` and p + 1 is `=`, so V = p + 2.
 * A sequence has 4 input tokens `a + b =` and its targets are
 * `[-1, -1, -1, c]`: only the last position (after `=`) carries loss and
 * probe measurements. The model sees 4 positions whatever its context length
 * (which must be at least 4).
 *
 * The p² equations are shuffled with the task seed; the first
 * `trainFraction` of them train, the rest validate. Probe equations are drawn
 * from the validation equations, cycling when the probe set is larger.
 */
import type { ModelConfig, TaskConfig } from '../../core/spec';
import { Rng } from '../rng';
import { allocateBatch, TaskError, type Task, type TaskSizes, type TokenBatch } from './task';

type ModularConfig = Extract<TaskConfig, { kind: 'modular' }>;

const SEQUENCE_LENGTH = 4;

export function buildModularTask(config: ModularConfig, model: ModelConfig, sizes: TaskSizes): Task {
  const p = config.modulus;
  if (model.contextLength < SEQUENCE_LENGTH) {
    throw new TaskError(
      `modular task needs a context of at least ${SEQUENCE_LENGTH} tokens (a + b =); model.contextLength is ${model.contextLength}; raise model.contextLength to ${SEQUENCE_LENGTH} or more`,
    );
  }

  const equations = shuffledEquations(p, Rng.fromSeed(config.taskSeed, 'modular.split'));
  const trainCount = Math.round(config.trainFraction * equations.length);
  if (trainCount < 1 || trainCount >= equations.length) {
    throw new TaskError(
      `modular task with modulus ${p} has ${equations.length} equations; trainFraction ${config.trainFraction} leaves ${trainCount} for training and ${equations.length - trainCount} for validation; choose a trainFraction that leaves at least one of each`,
    );
  }
  const train = equations.subarray(0, trainCount);
  const held = equations.subarray(trainCount);

  const fill = (indices: ArrayLike<number>): TokenBatch => {
    const batch = allocateBatch(indices.length, SEQUENCE_LENGTH);
    for (let s = 0; s < indices.length; s += 1) writeEquation(batch, s, indices[s], p);
    return batch;
  };

  const validationIndices = held.subarray(0, Math.min(sizes.validationSize, held.length));
  const probeIndices = Array.from({ length: sizes.probeSize }, (_, i) => held[i % held.length]);

  return {
    kind: 'modular',
    vocabSize: p + 2,
    sequenceLength: SEQUENCE_LENGTH,
    validation: fill(validationIndices),
    probe: fill(probeIndices),
    sampleTrainBatch(rng: Rng, batchSize: number): TokenBatch {
      // Sampling with replacement keeps the data position one RNG state.
      const indices = Array.from({ length: batchSize }, () => train[rng.int(train.length)]);
      return fill(indices);
    },
  };
}

/** Returns the equation indices a * p + b in an order shuffled by `rng` (Fisher–Yates). */
function shuffledEquations(p: number, rng: Rng): Int32Array {
  const indices = Int32Array.from({ length: p * p }, (_, i) => i);
  for (let i = indices.length - 1; i > 0; i -= 1) {
    const j = rng.int(i + 1);
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices;
}

function writeEquation(batch: TokenBatch, row: number, equation: number, p: number): void {
  const a = Math.floor(equation / p);
  const b = equation % p;
  const base = row * SEQUENCE_LENGTH;
  batch.inputs.set([a, p, b, p + 1], base);
  batch.targets.set([-1, -1, -1, (a + b) % p], base);
}
