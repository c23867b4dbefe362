import { describe, expect, it } from 'vitest';
import type { ParameterMap } from '../../../core/analysis/parameters';
import { weightDistances } from '../../../core/analysis/weight-space';

function parameters(entries: Record<string, number[]>): ParameterMap {
  return new Map(Object.entries(entries).map(([name, values]) => [name, { shape: [values.length], data: Float64Array.from(values) }]));
}

describe('weightDistances', () => {
  it('matches hand-derived values', () => {
    // a = (3, 0 | 0, 4), b = (0, 0 | 0, 4): ‖a‖ = 5, ‖b‖ = 4, ‖a − b‖ = 3, ⟨a, b⟩ = 16.
    const a = parameters({ x: [3, 0], y: [0, 4] });
    const b = parameters({ x: [0, 0], y: [0, 4] });
    const distances = weightDistances(a, b);
    expect(distances.model.l2).toBe(3);
    expect(distances.model.relativeL2).toBeCloseTo(3 / 4.5, 15);
    expect(distances.model.cosine).toBeCloseTo(16 / 20, 15);
    expect(distances.tensors.x!.l2).toBe(3);
    expect(distances.tensors.x!.cosine).toBeNaN();
    expect(distances.tensors.y!.l2).toBe(0);
    expect(distances.tensors.y!.cosine).toBe(1);
  });

  it('is symmetric in l2 and cosine', () => {
    const a = parameters({ x: [1, -2, 0.5] });
    const b = parameters({ x: [-0.3, 4, 2] });
    expect(weightDistances(a, b).model).toEqual(weightDistances(b, a).model);
  });

  it('is NaN in relative terms for two zero models', () => {
    const zero = parameters({ x: [0, 0] });
    const distances = weightDistances(zero, zero);
    expect(distances.model.l2).toBe(0);
    expect(distances.model.relativeL2).toBeNaN();
    expect(distances.model.cosine).toBeNaN();
  });

  it('propagates NaN weights', () => {
    const distances = weightDistances(parameters({ x: [Number.NaN, 1] }), parameters({ x: [0, 1] }));
    expect(distances.model.l2).toBeNaN();
  });

  it('is Infinity for infinite weights', () => {
    const distances = weightDistances(parameters({ x: [Infinity, 1] }), parameters({ x: [0, 1] }));
    expect(distances.model.l2).toBe(Infinity);
  });

  it('rejects maps with different tensors', () => {
    expect(() => weightDistances(parameters({ x: [1] }), parameters({ y: [1] }))).toThrow(/"x" is missing/);
    expect(() => weightDistances(parameters({ x: [1] }), parameters({ x: [1, 2] }))).toThrow(/shape/);
  });

  it('handles an empty model', () => {
    const distances = weightDistances(new Map(), new Map());
    expect(distances.model.l2).toBe(0);
    expect(distances.model.relativeL2).toBeNaN();
  });
});
