/**
 * Decoding of HTTP replies: JSON cannot carry NaN or ±Infinity, so the server
 * sends them as the strings of `encodeNumber`, and these functions turn them
 * back into numbers in the numeric fields. IPC replies need none of
 * this, because structured clone keeps NaN and ±Infinity.
 */
import { decodeNumber, type ApiEvent, type ExperimentDetail, type MetricSeries, type PairMetricTable } from '../../../../core/api';

type Wire = number | string | null;

function toNumber(value: Wire): number {
  return typeof value === 'number' ? value : decodeNumber(value);
}

function toNullableNumber(value: Wire): number | null {
  return value === null ? null : toNumber(value);
}

function toNumbers(values: Wire[]): number[] {
  return values.map(toNumber);
}

/**
 * Replaces the encoded strings by numbers anywhere in an analysis payload.
 * NOTE: a string value that is exactly "NaN", "Infinity" or "-Infinity" in an
 * artefact payload becomes a number. Payloads contain numbers and ids, not free text.
 */
export function decodeDeep(value: unknown): unknown {
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return decodeNumber(value);
  if (Array.isArray(value)) return value.map(decodeDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, decodeDeep(item)]));
  }
  return value;
}

export function decodeResult(method: string, value: unknown): unknown {
  if (value === null) return null;
  if (method === 'getExperiment') {
    const detail = value as ExperimentDetail;
    for (const run of detail.runs) {
      run.finalTrainLoss = toNullableNumber(run.finalTrainLoss as Wire);
      run.finalValidationLoss = toNullableNumber(run.finalValidationLoss as Wire);
      run.finalTrueKl = toNullableNumber(run.finalTrueKl as Wire);
    }
    return detail;
  }
  if (method === 'getRunMetrics') {
    for (const series of value as MetricSeries[]) series.values = toNumbers(series.values as Wire[]);
    return value;
  }
  if (method === 'getPairMetrics') {
    for (const table of value as PairMetricTable[]) table.values = toNumbers(table.values as Wire[]);
    return value;
  }
  if (method === 'getArtifacts') {
    return (value as Array<{ step: number; subject: string; payload: unknown }>).map((item) => ({ ...item, payload: decodeDeep(item.payload) }));
  }
  return value;
}

export function decodeEvent(event: ApiEvent): ApiEvent {
  if (event.type !== 'runProgress') return event;
  return { ...event, loss: toNullableNumber(event.loss as Wire), tokensPerSecond: toNullableNumber(event.tokensPerSecond as Wire) };
}
