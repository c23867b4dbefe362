/**
 * Character-level language modelling on a UTF-8 text file. Tokens are the
 * file's distinct Unicode code points in ascending order. The last
 * `validationFraction` of the file validates and the rest trains; validation
 * and probe windows are drawn from the held-out end with the task seed,
 * training windows from the start with the run's data stream.
 */
import { readFileSync } from 'node:fs';
import type { ModelConfig, TaskConfig } from '../../core/spec';
import { Rng } from '../rng';
import { allocateBatch, TaskError, type Task, type TaskSizes, type TokenBatch } from './task';

type TextConfig = Extract<TaskConfig, { kind: 'text' }>;

export function buildTextTask(config: TextConfig, model: ModelConfig, sizes: TaskSizes): Task {
  const codePoints = readCodePoints(config.path);
  const seq = model.contextLength;

  // Each window holds seq + 1 characters: seq inputs and the target after the last.
  const window = seq + 1;
  const validationLength = Math.floor(codePoints.length * config.validationFraction);
  const trainLength = codePoints.length - validationLength;
  if (trainLength < window || validationLength < window) {
    const needed = Math.ceil(window / Math.min(config.validationFraction, 1 - config.validationFraction));
    throw new TaskError(
      `text file ${config.path} is too short: ${codePoints.length} characters give ${trainLength} for training and ${validationLength} for validation, but each needs at least ${window} (model.contextLength + 1); use a file of at least ${needed} characters or lower model.contextLength`,
    );
  }

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

/** Reads the file as strict UTF-8 and returns its code points, or throws a TaskError naming the problem and the fix. */
function readCodePoints(path: string): number[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TaskError(`text file ${path} was not found; check task.path (relative paths resolve from ${process.cwd()})`);
    if (code === 'EISDIR') throw new TaskError(`text file ${path} is a directory; set task.path to a UTF-8 text file`);
    if (code === 'EACCES') throw new TaskError(`text file ${path} cannot be read (permission denied); grant read access or copy the file`);
    throw new TaskError(`text file ${path} could not be read: ${(error as Error).message}`);
  }

  if (bytes.length === 0) throw new TaskError(`text file ${path} is empty; give a UTF-8 text file with enough text for a context and a validation split`);
  const nulAt = bytes.indexOf(0);
  if (nulAt !== -1) {
    throw new TaskError(`text file ${path} looks binary: it contains a NUL byte at offset ${nulAt}; give a UTF-8 text file`);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TaskError(`text file ${path} is not valid UTF-8; convert it to UTF-8 (for example with iconv) or pick another file`);
  }
  return Array.from(text, (character) => character.codePointAt(0) as number);
}
