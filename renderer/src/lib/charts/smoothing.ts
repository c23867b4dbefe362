/**
 * Exponential moving average with bias correction, as TensorBoard smooths
 * scalars. With weight w the running value is s_t = w·s_{t−1} + (1 − w)·x_t
 * from s_0 = 0, and dividing by 1 − w^n (n finite points seen) removes the
 * pull towards 0 at the start. Non-finite points stay NaN in the output and do
 * not enter the average, so a NaN never spreads to the points after it.
 */
export function smoothSeries(values: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), received ${weight}`);

  const result = new Array<number>(values.length);
  let running = 0;
  let count = 0;
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i]!;
    if (!Number.isFinite(value)) {
      result[i] = Number.NaN;
      continue;
    }
    count += 1;
    running = weight * running + (1 - weight) * value;
    result[i] = weight === 0 ? value : running / (1 - weight ** count);
  }
  return result;
}
