/** Fresh temporary folders and databases for core tests, removed after each test. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { SweepSpecInput } from '../../../core/spec';

const created: string[] = [];

afterEach(() => {
  while (created.length > 0) fs.rmSync(created.pop()!, { recursive: true, force: true });
});

export function tempFolder(prefix = 'seedscope-test-'): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(folder);
  return folder;
}

export function tempDatabasePath(): string {
  return path.join(tempFolder(), 'test.db');
}

/** Returns a small valid spec: `optimizers` × `seeds` runs of `steps` steps on a tiny markov task. */
export function tinySpec(overrides: Partial<SweepSpecInput> = {}): SweepSpecInput {
  return {
    name: 'tiny',
    task: { kind: 'markov', vocabSize: 8, order: 1, concentration: 0.5, taskSeed: 1 },
    model: { contextLength: 8, dModel: 8, nHeads: 2, nLayers: 1, dMlp: 16 },
    training: { steps: 20, batchSize: 4, logEvery: 5, validationSize: 8 },
    optimizers: [{ kind: 'sgd' }, { kind: 'adam' }],
    seeds: { count: 2 },
    checkpoints: { count: 3 },
    probeSize: 4,
    backend: 'cpu',
    ...overrides,
  };
}
