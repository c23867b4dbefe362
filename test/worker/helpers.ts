/** Builders for small run configs, shared by the worker tests. */
import { modelSchema, optimizerSchema, taskSchema, trainingSchema, type RunConfig } from '../../core/spec';
import { selectBackend, type ConcreteBackend } from '../../worker/backend';

export interface TinyRunOverrides {
  task?: Record<string, unknown>;
  model?: Record<string, unknown>;
  training?: Record<string, unknown>;
  optimizer?: Record<string, unknown>;
  initSeed?: number;
  dataSeed?: number;
  checkpointSteps?: number[];
  probeSize?: number;
}

/** Builds a run small enough to train in well under a second per step on the cpu backend. */
export function tinyRunConfig(overrides: TinyRunOverrides = {}): RunConfig {
  const training = trainingSchema.parse({ steps: 6, batchSize: 4, logEvery: 2, validationSize: 8, ...overrides.training });
  return {
    task: taskSchema.parse(overrides.task?.kind !== undefined && overrides.task.kind !== 'markov' ? overrides.task : { kind: 'markov', vocabSize: 8, order: 1, concentration: 0.5, taskSeed: 3, ...overrides.task }),
    model: modelSchema.parse({ contextLength: 6, dModel: 8, nHeads: 2, nLayers: 1, dMlp: 16, ...overrides.model }),
    training,
    optimizer: optimizerSchema.parse({ kind: 'adam', lr: 0.01, ...overrides.optimizer }),
    optimizerLabel: 'adam',
    initSeed: overrides.initSeed ?? 1,
    dataSeed: overrides.dataSeed ?? 2,
    checkpointSteps: overrides.checkpointSteps ?? [training.steps],
    probeSize: overrides.probeSize ?? 4,
    backend: 'cpu',
    gridPoint: {},
  };
}

/** Activates `backend` and fails the test when it falls back to another. */
export async function useBackend(backend: ConcreteBackend): Promise<void> {
  const choice = await selectBackend(backend);
  if (choice.backend !== backend) throw new Error(`backend ${backend} did not activate: ${choice.note}`);
}
