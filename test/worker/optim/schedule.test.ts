import { describe, expect, it } from 'vitest';
import { learningRateAt } from '../../../worker/optim';

const cosine = { kind: 'cosine', warmupSteps: 10, minLrRatio: 0.1 } as const;

describe('learningRateAt', () => {
  it('is the base rate for a constant schedule', () => {
    expect(learningRateAt({ kind: 'constant' }, 0.3, 1, 100)).toBe(0.3);
    expect(learningRateAt({ kind: 'constant' }, 0.3, 100, 100)).toBe(0.3);
  });

  it('rises linearly during warm-up', () => {
    expect(learningRateAt(cosine, 2, 1, 110)).toBeCloseTo(0.2, 12);
    expect(learningRateAt(cosine, 2, 5, 110)).toBeCloseTo(1, 12);
    expect(learningRateAt(cosine, 2, 10, 110)).toBeCloseTo(2, 12);
  });

  it('follows half a cosine after warm-up', () => {
    // Step 35 is a quarter of the 100 decay steps: 0.1 + 0.9 · (1 + cos(π/4)) / 2 = 0.868198.
    expect(learningRateAt(cosine, 1, 35, 110)).toBeCloseTo(0.868198, 6);
    // Halfway: 0.1 + 0.9 · 0.5.
    expect(learningRateAt(cosine, 1, 60, 110)).toBeCloseTo(0.55, 12);
    expect(learningRateAt(cosine, 1, 110, 110)).toBeCloseTo(0.1, 12);
  });

  it('keeps the final rate past the last step', () => {
    expect(learningRateAt(cosine, 1, 500, 110)).toBeCloseTo(0.1, 12);
  });

  it('decays from the first step without warm-up', () => {
    const noWarmup = { kind: 'cosine', warmupSteps: 0, minLrRatio: 0 } as const;
    // Step 1 of 2 is halfway through the decay.
    expect(learningRateAt(noWarmup, 1, 1, 2)).toBeCloseTo(0.5, 12);
    expect(learningRateAt(noWarmup, 1, 2, 2)).toBeCloseTo(0, 12);
  });

  it('ends at the peak when warm-up fills the run', () => {
    expect(learningRateAt({ kind: 'cosine', warmupSteps: 4, minLrRatio: 0 }, 1, 4, 4)).toBe(1);
  });

  it('rejects step zero and fractional steps', () => {
    expect(() => learningRateAt(cosine, 1, 0, 110)).toThrow(/steps count from 1/);
    expect(() => learningRateAt(cosine, 1, 1.5, 110)).toThrow(RangeError);
    expect(() => learningRateAt(cosine, 1, 1, 0)).toThrow(/total steps/);
  });
});
