/**
 * Checks that an optimizer resumes bit-exactly. A run interrupted by
 * saveState/loadState must end with the same weights as an uninterrupted one.
 */
import { expect } from 'vitest';
import type { OptimizerConfig } from '../../../core/spec';
import { createOptimizer } from '../../../worker/optim';
import type { Optimizer, ParamMap } from '../../../worker/optim/optimizer';
import { disposeAll, valuesOf } from './helpers';
import { buildTinyModel, type TinySpec } from './tinyModel';

export interface ResumeCase {
  config: OptimizerConfig;
  spec: TinySpec;
  steps: number;
  /** Number of steps taken before the state is saved and loaded into a new optimizer. */
  resumeAfter: number;
  /** Takes step `index` (0-based) and disposes whatever it allocates. */
  takeStep: (optimizer: Optimizer, params: ParamMap, index: number) => void;
}

/** Trains the tiny model straight through and with one resume, then expects equal weights. */
export function expectBitExactResume({ config, spec, steps, resumeAfter, takeStep }: ResumeCase): void {
  const run = (params: ParamMap, optimizer: Optimizer, from: number, to: number) => {
    for (let i = from; i < to; i += 1) takeStep(optimizer, params, i);
  };

  const straightParams = buildTinyModel(spec);
  const straight = createOptimizer(config, straightParams);
  run(straightParams, straight, 0, steps);

  const firstParams = buildTinyModel(spec);
  const first = createOptimizer(config, firstParams);
  run(firstParams, first, 0, resumeAfter);
  const resumed = createOptimizer(config, firstParams);
  resumed.loadState(first.saveState());
  run(firstParams, resumed, resumeAfter, steps);

  const expected = valuesOf(straightParams);
  const actual = valuesOf(firstParams);
  for (const name of Object.keys(expected)) expect(actual[name]).toEqual(expected[name]);

  for (const optimizer of [straight, first, resumed]) optimizer.dispose();
  disposeAll(straightParams, firstParams);
}
