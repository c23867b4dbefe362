/**
 * Character-level language modelling on a UTF-8 text file. Tokens are the
 * file's distinct Unicode code points in ascending order. The last
 * `validationFraction` of the file is for validation and the rest for training.
 * Validation and probe windows are drawn from the held-out end with the task seed,
 * training windows from the start with the run's data stream.
 */
import type { ModelConfig, TaskConfig } from '../../core/spec';
import { checkCorpusLength, readCodePoints, splitLengths, TextCorpusError } from '../../core/text-corpus';
import { Rng } from '../rng';
import { allocateBatch, TaskError, type Task, type TaskSizes, type TokenBatch } from './task';

type TextConfig = Extract<TaskConfig, { kind: 'text' }>;

export function buildTextTask(config: TextConfig, model: ModelConfig, sizes: TaskSizes): Task {
  const codePoints = readCorpus(config, model);
  const seq = model.contextLength;

  // Each window holds seq + 1 characters: seq inputs and the target after the last.
  const window = seq + 1;
  const { trainLength } = splitLengths(codePoints.length, config);

  const alphabet = [...new Set(codePoints)].sort((a, b) => a - b);
  const tokenOf = new Map(alphabet.map((codePoint, token) => [codePoint, token]));
  const tokens = Int32Array.from(codePoints, (codePoint) => tokenOf.get(codePoint) as number);
  const trainTokens = tokens.subarray(0, trainLength);
  const validationTokens = tokens.subarray(trainLength);

  const windowsFrom = (source: Int32Array, rng: Rng, count: number): TokenBatch => {
    const batch = allocateBatch(count, seq);
    for (let s = 0; s < count; s += 1) {
      const start = rng.int(source.length - window + 1);
      batch.inputs.set(source.subarray(start, start + seq), s * seq);
      batch.targets.set(source.subarray(start + 1, start + window), s * seq);
    }
    return batch;
  };

  return {
    kind: 'text',
    vocabSize: alphabet.length,
    sequenceLength: seq,
    validation: windowsFrom(validationTokens, Rng.fromSeed(config.taskSeed, 'text.validation'), sizes.validationSize),
    probe: windowsFrom(validationTokens, Rng.fromSeed(config.taskSeed, 'text.probe'), sizes.probeSize),
    sampleTrainBatch: (rng, batchSize) => windowsFrom(trainTokens, rng, batchSize),
  };
}

/** Reads and checks the corpus, reporting its problems as TaskErrors. */
function readCorpus(config: TextConfig, model: ModelConfig): number[] {
  try {
    const codePoints = readCodePoints(config.path);
    checkCorpusLength(codePoints.length, config, model);
    return codePoints;
  } catch (error) {
    if (error instanceof TextCorpusError) throw new TaskError(error.message);
    throw error;
  }
}
