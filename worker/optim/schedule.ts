/**
 * Learning-rate schedules. Steps count from 1: step 1 is the first update and
 * step `totalSteps` the last.
 */
import type { z } from 'zod';
import type { scheduleSchema } from '../../core/spec';

export type Schedule = z.output<typeof scheduleSchema>;

/**
 * Returns the learning rate for `step` (1-based) of a run of `totalSteps`.
 *
 * `cosine`: during warm-up the rate rises linearly, `baseLr · step / warmupSteps`,
 * reaching `baseLr` at step `warmupSteps`. After it, the rate follows half a
 * cosine from `baseLr` at step `warmupSteps` down to `baseLr · minLrRatio` at
 * step `totalSteps`. Steps past `totalSteps` keep the final rate.
 */
export function learningRateAt(schedule: Schedule, baseLr: number, step: number, totalSteps: number): number {
  if (!Number.isInteger(step) || step < 1) {
    throw new RangeError(`learning-rate step must be an integer of at least 1 (steps count from 1); received ${step}`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new RangeError(`total steps must be an integer of at least 1; received ${totalSteps}`);
  }
  if (schedule.kind === 'constant') return baseLr;

  const { warmupSteps, minLrRatio } = schedule;
  if (step <= warmupSteps) return (baseLr * step) / warmupSteps;

  const decaySteps = totalSteps - warmupSteps;
  const progress = decaySteps <= 0 ? 1 : Math.min(1, (step - warmupSteps) / decaySteps);
  const cosineFactor = 0.5 * (1 + Math.cos(Math.PI * progress));
  return baseLr * (minLrRatio + (1 - minLrRatio) * cosineFactor);
}
