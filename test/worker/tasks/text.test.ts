import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelSchema, taskSchema } from '../../../core/spec';
import { Rng } from '../../../worker/rng';
import { buildTask, TaskError } from '../../../worker/tasks/index';

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'seedscope-text-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

const model = modelSchema.parse({ contextLength: 8, dModel: 8, nHeads: 2 });
const sizes = { probeSize: 2, validationSize: 2 };

function textTask(contents: string | Buffer | undefined, name = 'corpus.txt') {
  const file = path.join(folder, name);
  if (contents !== undefined) writeFileSync(file, contents);
  return () => buildTask(taskSchema.parse({ kind: 'text', path: file, validationFraction: 0.25 }), model, sizes);
}

describe('buildTask text', () => {
  it('names a missing file', () => {
    expect(textTask(undefined)).toThrow(TaskError);
    expect(textTask(undefined)).toThrow(/corpus\.txt was not found; check task\.path/);
  });

  it('rejects an empty file', () => {
    expect(textTask('')).toThrow(/is empty/);
  });

  it('rejects a file with NUL bytes as binary', () => {
    expect(textTask(Buffer.from([0x61, 0x00, 0x62]))).toThrow(/looks binary: it contains a NUL byte at offset 1/);
  });

  it('rejects invalid UTF-8', () => {
    expect(textTask(Buffer.from([0x61, 0xff, 0xfe, 0x62]))).toThrow(/is not valid UTF-8/);
  });

  it('rejects a file too short to split', () => {
    expect(textTask('abcdefghijklmnopqrstuvwxyz')).toThrow(/too short: 26 characters give 20 for training and 6 for validation, but each needs at least 9/);
  });

  it('tokenises Unicode code points', () => {
    const text = 'héllo wörld, '.repeat(10);
    const task = textTask(text)();
    expect(task.vocabSize).toBe(new Set(Array.from(text)).size);

    const batch = task.sampleTrainBatch(Rng.fromSeed(1, 'data.order'), 4);
    expect(batch.inputs.subarray(1, 8)).toEqual(batch.targets.subarray(0, 7));
    expect(task.probeTrueLogProbs).toBeUndefined();
  });
});
