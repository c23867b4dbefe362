import { describe, expect, it } from 'vitest';
import { modelSchema, taskSchema } from '../../../core/spec';
import { Rng } from '../../../worker/rng';
import { buildTask } from '../../../worker/tasks/index';
import { MarkovChain } from '../../../worker/tasks/markov';
import { trueKl } from '../../../worker/train/evaluate';

const model = modelSchema.parse({ contextLength: 8, dModel: 8, nHeads: 2 });
const markov = (fields: Record<string, unknown> = {}) => taskSchema.parse({ kind: 'markov', vocabSize: 6, order: 2, concentration: 0.5, taskSeed: 4, ...fields });

describe('MarkovChain', () => {
  it('has transition rows that sum to one', () => {
    const chain = new MarkovChain(markov() as Extract<ReturnType<typeof markov>, { kind: 'markov' }>);
    for (let context = 0; context < 36; context += 1) {
      const row = chain.row(context);
      expect(row.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 12);
      expect(Math.min(...row)).toBeGreaterThan(0);
    }
  });

  it('samples next tokens with the row frequencies', () => {
    const chain = new MarkovChain(markov({ order: 1 }) as Extract<ReturnType<typeof markov>, { kind: 'markov' }>);
    const rng = Rng.fromSeed(1, 'test');
    const sequence = new Int32Array(20001);
    chain.sampleSequence(rng, sequence, sequence.length);

    const counts = new Array(6).fill(0);
    let total = 0;
    for (let t = 1; t < sequence.length; t += 1) {
      if (sequence[t - 1] !== 0) continue;
      counts[sequence[t]] += 1;
      total += 1;
    }
    const row = chain.row(0);
    counts.forEach((count, token) => expect(Math.abs(count / total - row[token])).toBeLessThan(0.03));
  });

  it('makes peaked rows with small concentration', () => {
    const entropy = (row: Float64Array) => -row.reduce((sum, p) => sum + p * Math.log(p), 0);
    const peaked = new MarkovChain(markov({ vocabSize: 32, order: 1, concentration: 0.05 }) as never);
    const flat = new MarkovChain(markov({ vocabSize: 32, order: 1, concentration: 100 }) as never);
    expect(entropy(peaked.row(0))).toBeLessThan(entropy(flat.row(0)) - 1);
  });
});

describe('buildTask markov', () => {
  it('gives zero true KL for the true distribution', () => {
    const task = buildTask(markov(), model, { probeSize: 5, validationSize: 3 });
    const logProbs = task.probeTrueLogProbs!;
    expect(logProbs).toHaveLength(5 * 8 * 6);
    expect(trueKl(logProbs, logProbs, task.probe, 6)).toBe(0);

    for (let position = 0; position < 5 * 8; position += 1) {
      const row = Array.from(logProbs.subarray(position * 6, (position + 1) * 6));
      expect(row.reduce((sum, logP) => sum + Math.exp(logP), 0)).toBeCloseTo(1, 5);
    }
  });

  it('is uniform before the first k tokens', () => {
    const task = buildTask(markov({ order: 3 }), model, { probeSize: 2, validationSize: 1 });
    const logProbs = task.probeTrueLogProbs!;
    // Input positions 0 and 1 predict x_1 and x_2, which precede the first full context of 3 tokens.
    for (const position of [0, 1]) {
      for (const logP of logProbs.subarray(position * 6, (position + 1) * 6)) expect(logP).toBeCloseTo(-Math.log(6), 6);
    }
    const third = Array.from(logProbs.subarray(2 * 6, 3 * 6));
    expect(Math.max(...third) - Math.min(...third)).toBeGreaterThan(0.01);
  });

  it('gives positive true KL for a uniform model', () => {
    const task = buildTask(markov(), model, { probeSize: 4, validationSize: 1 });
    const uniform = new Float32Array(task.probeTrueLogProbs!.length).fill(-Math.log(6));
    expect(trueKl(task.probeTrueLogProbs!, uniform, task.probe, 6)).toBeGreaterThan(0.1);
  });

  it('keeps validation and probe sets fixed by the task seed', () => {
    const first = buildTask(markov(), model, { probeSize: 4, validationSize: 4 });
    const second = buildTask(markov(), model, { probeSize: 4, validationSize: 4 });
    const other = buildTask(markov({ taskSeed: 5 }), model, { probeSize: 4, validationSize: 4 });
    expect(second.probe.inputs).toEqual(first.probe.inputs);
    expect(second.validation.targets).toEqual(first.validation.targets);
    expect(other.probe.inputs).not.toEqual(first.probe.inputs);
  });

  it('shifts targets by one token', () => {
    const task = buildTask(markov(), model, { probeSize: 1, validationSize: 1 });
    const batch = task.sampleTrainBatch(Rng.fromSeed(0, 'data.order'), 3);
    for (let s = 0; s < 3; s += 1) {
      expect(batch.inputs.subarray(s * 8 + 1, (s + 1) * 8)).toEqual(batch.targets.subarray(s * 8, (s + 1) * 8 - 1));
    }
  });
});
