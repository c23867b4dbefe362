import { describe, expect, it } from 'vitest';
import { modelSchema, taskSchema } from '../../../core/spec';
import { Rng } from '../../../worker/rng';
import { buildTask } from '../../../worker/tasks/index';

const modular = taskSchema.parse({ kind: 'modular', modulus: 7, trainFraction: 0.5, taskSeed: 1 });
const model = modelSchema.parse({ contextLength: 8, dModel: 8, nHeads: 2 });

describe('buildTask modular', () => {
  it('lays out a + b = with the answer as the only target', () => {
    const task = buildTask(modular, model, { probeSize: 3, validationSize: 100 });
    expect(task.vocabSize).toBe(9);
    expect(task.sequenceLength).toBe(4);

    const batch = task.sampleTrainBatch(Rng.fromSeed(0, 'data.order'), 5);
    for (let s = 0; s < 5; s += 1) {
      const [a, plus, b, equals] = batch.inputs.subarray(s * 4, s * 4 + 4);
      expect([plus, equals]).toEqual([7, 8]);
      expect(Array.from(batch.targets.subarray(s * 4, s * 4 + 4))).toEqual([-1, -1, -1, (a + b) % 7]);
    }
  });

  it('keeps training and validation equations apart', () => {
    const task = buildTask(modular, model, { probeSize: 3, validationSize: 100 });
    const key = (inputs: Int32Array, s: number) => `${inputs[s * 4]}+${inputs[s * 4 + 2]}`;
    const validationKeys = new Set(Array.from({ length: task.validation.size }, (_, s) => key(task.validation.inputs, s)));
    expect(validationKeys.size).toBe(49 - 25);

    const batch = task.sampleTrainBatch(Rng.fromSeed(3, 'data.order'), 200);
    for (let s = 0; s < 200; s += 1) expect(validationKeys.has(key(batch.inputs, s))).toBe(false);
  });

  it('rejects a context shorter than four tokens', () => {
    expect(() => buildTask(modular, modelSchema.parse({ contextLength: 3, dModel: 8, nHeads: 2 }), { probeSize: 1, validationSize: 1 })).toThrow(
      /at least 4 tokens/,
    );
  });
});
