/** Summary statistics over finite values; every function ignores NaN and ±Infinity and never mutates its input. */

export function finiteValues(values: ArrayLike<number>): number[] {
  const result: number[] = [];
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i]!;
    if (Number.isFinite(value)) result.push(value);
  }
  return result;
}

/** Linear-interpolated quantile q in [0, 1] of the finite values; NaN when there are none. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = finiteValues(values).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

export function mean(values: ArrayLike<number>): number {
  const finite = finiteValues(values);
  if (finite.length === 0) return Number.NaN;
  return finite.reduce((sum, value) => sum + value, 0) / finite.length;
}

/** Sample standard deviation (n − 1); 0 for a single value, NaN for none. */
export function standardDeviation(values: ArrayLike<number>): number {
  const finite = finiteValues(values);
  if (finite.length === 0) return Number.NaN;
  if (finite.length === 1) return 0;
  const average = mean(finite);
  const squares = finite.reduce((sum, value) => sum + (value - average) ** 2, 0);
  return Math.sqrt(squares / (finite.length - 1));
}

/** Returns the name a non-finite value is shown with. */
export function nonFiniteLabel(value: number): 'NaN' | '+∞' | '−∞' {
  if (value === Infinity) return '+∞';
  if (value === -Infinity) return '−∞';
  return 'NaN';
}
