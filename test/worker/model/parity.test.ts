/**
 * Compares the model's loss and gradients with the PyTorch reference in
 * bench/reference_train.py for the same parameters and batch. Skipped where
 * /usr/bin/python3 cannot import torch.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelSchema } from '../../../core/spec';
import { decodeSafetensors, encodeSafetensors } from '../../../core/tensors/safetensors';
import { disposeParameters, exportParameters, initParameters, type Architecture } from '../../../worker/model/params';
import { crossEntropy, forward } from '../../../worker/model/transformer';
import { Rng } from '../../../worker/rng';
import { useBackend } from '../helpers';

const python = '/usr/bin/python3';
const script = path.resolve(__dirname, '../../../bench/reference_train.py');
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'seedscope-parity-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

interface Case {
  name: string;
  model: Record<string, unknown>;
  vocabSize: number;
  seq: number;
  /** Positions whose target is -1 (no loss), by flat index. */
  ignored: number[];
}

const cases: Case[] = [
  { name: 'untied, full context', model: { contextLength: 6, dModel: 8, nHeads: 2, nLayers: 2, dMlp: 12, initStd: 0.3 }, vocabSize: 7, seq: 6, ignored: [] },
  { name: 'tied, short sequences with ignored targets', model: { contextLength: 8, dModel: 12, nHeads: 3, nLayers: 1, dMlp: 8, tiedEmbeddings: true, initStd: 0.3 }, vocabSize: 5, seq: 4, ignored: [0, 1, 5, 9] },
];

describe.skipIf(!hasTorch)('transformer parity with PyTorch', () => {
  for (const testCase of cases) {
    for (const backend of ['cpu', 'wasm'] as const) {
      it(`matches loss and gradients (${testCase.name}, ${backend})`, async () => {
        await useBackend(backend);
        const arch: Architecture = { ...modelSchema.parse(testCase.model), vocabSize: testCase.vocabSize };
        const params = initParameters(arch, 3);
        const batchSize = 3;
        const rng = Rng.fromSeed(9, 'parity');
        const inputs = Int32Array.from({ length: batchSize * testCase.seq }, () => rng.int(testCase.vocabSize));
        const targets = Int32Array.from({ length: batchSize * testCase.seq }, () => rng.int(testCase.vocabSize));
        for (const position of testCase.ignored) targets[position] = -1;

        const names = [...params.keys()];
        const inputTensor = tf.tensor2d(inputs, [batchSize, testCase.seq], 'int32');
        const targetTensor = tf.tensor1d(targets, 'int32');
        const { value, grads } = tf.valueAndGrads(() => crossEntropy(forward(params, arch, inputTensor), targetTensor))([...params.values()]);
        const ours = new Map(names.map((name, i) => [name, grads[i].dataSync() as Float32Array]));
        const ourLoss = value.dataSync()[0];

        writeFileSync(path.join(folder, 'weights.safetensors'), encodeSafetensors(exportParameters(params)));
        writeFileSync(
          path.join(folder, 'batch.safetensors'),
          encodeSafetensors([
            { name: 'inputs', dtype: 'I32', shape: [batchSize, testCase.seq], data: inputs },
            { name: 'targets', dtype: 'I32', shape: [batchSize, testCase.seq], data: targets },
          ]),
        );
        execFileSync(python, [
          script, 'parity',
          '--config', JSON.stringify(arch),
          '--weights', path.join(folder, 'weights.safetensors'),
          '--batch', path.join(folder, 'batch.safetensors'),
          '--out', path.join(folder, 'grads.safetensors'),
        ]);
        const reference = new Map(decodeSafetensors(new Uint8Array(readFileSync(path.join(folder, 'grads.safetensors')))).tensors.map((tensor) => [tensor.name, tensor.data]));

        expect(ourLoss).toBeCloseTo(reference.get('loss')![0], 5);
        for (const name of names) {
          const expected = reference.get(name)!;
          const actual = ours.get(name)!;
          const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
          const worst = Math.max(...Array.from(actual, (x, i) => Math.abs(x - expected[i])));
          expect(worst / scale, `gradient of ${name}`).toBeLessThan(1e-4);
        }

        value.dispose();
        grads.forEach((grad) => grad.dispose());
        inputTensor.dispose();
        targetTensor.dispose();
        disposeParameters(params);
        // Starting Python and importing torch takes seconds on a loaded machine.
      }, 60_000);
    }
  }
});
