/** An experiment in a real store whose runs get real checkpoints from the tiny model fixture. */
import { expandSweep, parseSweepSpec, type RunConfig } from '../../../core/spec';
import type { Store } from '../../../core/store/store';
import { checkpointOf, initialParameters, tinyConfig } from '../../worker/analyse/fixtures';

export const STEPS = [2, 4];
const config = tinyConfig();

/** Inserts an experiment of `count` queued runs with the tiny fixture config, or the given config per run. */
export function createExperiment(store: Store, count: number, configs?: RunConfig[]): number {
  const parsed = parseSweepSpec({ name: 'analysis', optimizers: [{ kind: 'sgd' }], seeds: { count }, training: { steps: 4 } });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const runs = expandSweep(parsed.spec).map((_, index) => configs?.[index] ?? config);
  return store.insertExperiment(parsed.spec, runs);
}

/** Gives a run checkpoints at STEPS from freshly initialised weights and marks it done. */
export function finishFixtureRun(store: Store, runId: number, seed: number, runConfig: RunConfig = config): void {
  for (const step of STEPS) {
    const blobs = checkpointOf(runConfig, runId, initialParameters(runConfig, seed + 100 * step));
    store.commitCheckpoint(runId, {
      step,
      weights: blobs.weights,
      optimizerState: new Uint8Array(8),
      trainerState: {},
      probeLogProbs: blobs.probeLogProbs,
      probeActivations: blobs.probeActivations!,
    });
  }
  store.db.prepare(`UPDATE runs SET status = 'done' WHERE id = ?`).run(runId);
}

export function runIdsOf(store: Store, experimentId: number): number[] {
  const rows = store.db.prepare('SELECT id FROM runs WHERE experiment_id = ? ORDER BY id').all(experimentId) as Array<{ id: number }>;
  return rows.map((row) => row.id);
}
