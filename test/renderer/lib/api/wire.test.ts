import { describe, expect, it } from 'vitest';
import { encodeJson } from '../../../../core/serve/server';
import { decodeDeep, decodeEvent, decodeResult } from '../../../../renderer/src/lib/api/wire';

/** Sends a value through the server's encoding and JSON, as the HTTP transport does. */
function overHttp<T>(value: T): T {
  return JSON.parse(encodeJson(value)) as T;
}

describe('decodeResult', () => {
  it('restores NaN and infinities in run metrics', () => {
    const series = overHttp([{ runId: 1, name: 'trainLoss', steps: [1, 2, 3, 4], values: [0.5, Number.NaN, Infinity, -Infinity] }]);

    const decoded = decodeResult('getRunMetrics', series) as typeof series;

    expect(decoded[0]!.values[0]).toBe(0.5);
    expect(decoded[0]!.values[1]).toBeNaN();
    expect(decoded[0]!.values.slice(2)).toEqual([Infinity, -Infinity]);
  });

  it('restores non-finite pair values', () => {
    const tables = overHttp([{ step: 1, metric: 'klAB', runA: [1], runB: [2], values: [Infinity] }]);

    expect((decodeResult('getPairMetrics', tables) as typeof tables)[0]!.values).toEqual([Infinity]);
  });

  it('restores final losses of runs and keeps names that look like numbers', () => {
    const detail = overHttp({ name: 'NaN', runs: [{ finalTrainLoss: Number.NaN, finalValidationLoss: null, finalTrueKl: 0.1, optimizerLabel: 'Infinity' }] });

    const decoded = decodeResult('getExperiment', detail) as typeof detail;

    expect(decoded.name).toBe('NaN');
    expect(decoded.runs[0]!.optimizerLabel).toBe('Infinity');
    expect(decoded.runs[0]!.finalTrainLoss).toBeNaN();
    expect(decoded.runs[0]!.finalValidationLoss).toBeNull();
    expect(decoded.runs[0]!.finalTrueKl).toBe(0.1);
  });
});

describe('decodeDeep', () => {
  it('restores numbers at any depth of a payload', () => {
    expect(decodeDeep(overHttp({ a: [[Infinity, 1]], b: { c: -Infinity } }))).toEqual({ a: [[Infinity, 1]], b: { c: -Infinity } });
  });
});

describe('decodeEvent', () => {
  it('restores a non-finite loss in a progress event', () => {
    const event = overHttp({ type: 'runProgress' as const, experimentId: 1, runId: 2, status: 'running' as const, step: 3, totalSteps: 9, loss: Number.NaN, tokensPerSecond: 10 });

    const decoded = decodeEvent(event);

    expect(decoded.type).toBe('runProgress');
    expect(decoded.type === 'runProgress' ? decoded.loss : 0).toBeNaN();
  });
});
