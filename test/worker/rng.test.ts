import { describe, expect, it } from 'vitest';
import { Rng } from '../../worker/rng';

const draws = (rng: Rng, count: number) => Array.from({ length: count }, () => rng.nextUint32());

describe('Rng', () => {
  it('repeats the sequence for the same seed and stream', () => {
    expect(draws(Rng.fromSeed(5, 'data.order'), 8)).toEqual(draws(Rng.fromSeed(5, 'data.order'), 8));
  });

  it('separates seeds and streams', () => {
    const reference = draws(Rng.fromSeed(5, 'data.order'), 4);
    expect(draws(Rng.fromSeed(6, 'data.order'), 4)).not.toEqual(reference);
    expect(draws(Rng.fromSeed(5, 'model.init'), 4)).not.toEqual(reference);
  });

  it('resumes exactly from a JSON round trip of its state', () => {
    const rng = Rng.fromSeed(11, 'x');
    draws(rng, 13);
    const saved = JSON.parse(JSON.stringify(rng.state()));
    const expected = [rng.uniform(), rng.normal(), rng.gamma(0.3), rng.int(97)];

    const resumed = Rng.fromState(saved);
    expect([resumed.uniform(), resumed.normal(), resumed.gamma(0.3), resumed.int(97)]).toEqual(expected);
  });

  it('rejects a malformed state', () => {
    expect(() => Rng.fromState({ words: [1, 2, 3] } as never)).toThrow(/four integers/);
    expect(() => Rng.fromState({ words: [0, 0, 0, 0] })).toThrow(/all zeros/);
  });

  it('draws uniforms in [0, 1) with mean near one half', () => {
    const rng = Rng.fromSeed(1, 'uniform');
    const values = Array.from({ length: 20000 }, () => rng.uniform());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((sum, value) => sum + value, 0) / values.length).toBeCloseTo(0.5, 2);
  });

  it('draws gamma variates with mean equal to the shape', () => {
    const rng = Rng.fromSeed(2, 'gamma');
    for (const shape of [0.3, 2.5]) {
      const values = Array.from({ length: 20000 }, () => rng.gamma(shape));
      const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
      expect(Math.abs(mean - shape) / shape).toBeLessThan(0.05);
    }
  });
});
