/**
 * Metric values as SQLite stores them. A REAL column turns NaN into NULL, so
 * each value is kept with a `kind` beside it and decoded back exactly.
 */

export type ValueKind = 'finite' | 'nan' | 'inf' | '-inf';

export function encodeValue(value: number): { value: number | null; kind: ValueKind } {
  if (Number.isNaN(value)) return { value: null, kind: 'nan' };
  if (value === Infinity) return { value: null, kind: 'inf' };
  if (value === -Infinity) return { value: null, kind: '-inf' };
  return { value, kind: 'finite' };
}

export function decodeValue(value: number | null, kind: string): number {
  if (kind === 'nan') return Number.NaN;
  if (kind === 'inf') return Infinity;
  if (kind === '-inf') return -Infinity;
  if (value === null) throw new Error(`finite metric value stored as NULL (kind ${kind})`);
  return value;
}
