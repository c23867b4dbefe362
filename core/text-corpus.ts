/**
 * Reads and checks the UTF-8 file of a `text` task. The Service runs the
 * check when a sweep is validated, so a missing, empty, binary or too-short
 * file is reported as a spec issue before any run is queued. The worker reads
 * the file through the same function when it builds the task.
 */
import { readFileSync } from 'node:fs';
import type { ModelConfig, TaskConfig } from './spec';

type TextConfig = Extract<TaskConfig, { kind: 'text' }>;

export class TextCorpusError extends Error {
  override name = 'TextCorpusError';
}

/** Reads the file as strict UTF-8 and returns its code points; throws a TextCorpusError naming the problem and the fix. */
export function readCodePoints(path: string): number[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TextCorpusError(`text file ${path} was not found; check task.path (the CLI resolves a relative path from the spec file's folder)`);
    if (code === 'EISDIR') throw new TextCorpusError(`text file ${path} is a directory; set task.path to a UTF-8 text file`);
    if (code === 'EACCES') throw new TextCorpusError(`text file ${path} cannot be read (permission denied); grant read access or copy the file`);
    throw new TextCorpusError(`text file ${path} could not be read: ${(error as Error).message}`);
  }

  if (bytes.length === 0) throw new TextCorpusError(`text file ${path} is empty; give a UTF-8 text file with enough text for a context and a validation split`);
  const nulAt = bytes.indexOf(0);
  if (nulAt !== -1) {
    throw new TextCorpusError(`text file ${path} looks binary: it contains a NUL byte at offset ${nulAt}; give a UTF-8 text file`);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TextCorpusError(`text file ${path} is not valid UTF-8; convert it to UTF-8 (for example with iconv) or pick another file`);
  }
  return Array.from(text, (character) => character.codePointAt(0) as number);
}

/** Sizes of the training and validation parts of a corpus of `length` characters. */
export function splitLengths(length: number, config: TextConfig): { trainLength: number; validationLength: number } {
  const validationLength = Math.floor(length * config.validationFraction);
  return { trainLength: length - validationLength, validationLength };
}

/**
 * Throws a TextCorpusError unless both parts contain at least one window of
 * model.contextLength + 1 characters (the inputs and the target after them).
 */
export function checkCorpusLength(length: number, config: TextConfig, model: ModelConfig): void {
  const window = model.contextLength + 1;
  const { trainLength, validationLength } = splitLengths(length, config);
  if (trainLength >= window && validationLength >= window) return;

  const needed = Math.ceil(window / Math.min(config.validationFraction, 1 - config.validationFraction));
  throw new TextCorpusError(
    `text file ${config.path} is too short: ${length} characters give ${trainLength} for training and ${validationLength} for validation, but each needs at least ${window} (model.contextLength + 1); use a file of at least ${needed} characters or lower model.contextLength`,
  );
}

/** Returns the problem with a text task's file as a message, or null when it can be trained on. */
export function textCorpusProblem(config: TextConfig, model: ModelConfig): string | null {
  try {
    checkCorpusLength(readCodePoints(config.path).length, config, model);
    return null;
  } catch (error) {
    if (error instanceof TextCorpusError) return error.message;
    throw error;
  }
}
