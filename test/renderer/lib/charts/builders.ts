/** Test-data builders for the chart option tests. */
import type { PairMetricTable } from '../../../../core/api';
import type { RunDescriptor } from '../../../../renderer/src/lib/charts/distances';

/** `count` runs per optimizer with ids 1, 2, …, in optimizer order. */
export function makeRuns(optimizers: string[], count: number): RunDescriptor[] {
  const runs: RunDescriptor[] = [];
  for (const optimizer of optimizers) {
    for (let seed = 0; seed < count; seed += 1) {
      const id = runs.length + 1;
      runs.push({ id, optimizer, label: `#${id} ${optimizer} seed ${seed}` });
    }
  }
  return runs;
}

/** Builds a pair table over every pair a < b with the value `valueOf(a, b)`. */
export function makeTable(runs: RunDescriptor[], metric: string, step: number, valueOf: (a: number, b: number) => number): PairMetricTable {
  const table: PairMetricTable = { step, metric, runA: [], runB: [], values: [] };
  for (let i = 0; i < runs.length; i += 1) {
    for (let j = i + 1; j < runs.length; j += 1) {
      table.runA.push(runs[i]!.id);
      table.runB.push(runs[j]!.id);
      table.values.push(valueOf(runs[i]!.id, runs[j]!.id));
    }
  }
  return table;
}
