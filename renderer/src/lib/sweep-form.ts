/**
 * Choices of the New sweep form: model size presets, the hyperparameters
 * shown per optimizer kind (with their schema defaults as placeholders) and
 * the starting spec. Everything else is edited in the JSON spec.
 */

export const MODEL_PRESETS = {
  tiny: { contextLength: 8, dModel: 16, nHeads: 2, nLayers: 1, dMlp: 32 },
  small: { contextLength: 16, dModel: 32, nHeads: 2, nLayers: 2, dMlp: 64 },
  default: { contextLength: 32, dModel: 64, nHeads: 4, nLayers: 2, dMlp: 256 },
} as const;

export type ModelPreset = keyof typeof MODEL_PRESETS;

export const OPTIMIZER_KINDS = ['sgd', 'adam', 'adamw', 'kfac', 'shampoo', 'trust-region'] as const;

export interface HyperparameterField {
  key: string;
  label: string;
  placeholder: string;
  kind?: 'number' | 'checkbox' | 'select';
  options?: readonly string[];
}

const lr = (placeholder: string): HyperparameterField => ({ key: 'lr', label: 'learning rate', placeholder });

export const OPTIMIZER_FIELDS: Record<(typeof OPTIMIZER_KINDS)[number], HyperparameterField[]> = {
  sgd: [lr('0.1'), { key: 'momentum', label: 'momentum', placeholder: '0.9' }, { key: 'nesterov', label: 'Nesterov', placeholder: '', kind: 'checkbox' }, { key: 'weightDecay', label: 'weight decay', placeholder: '0' }],
  adam: [lr('0.003'), { key: 'beta1', label: 'β1', placeholder: '0.9' }, { key: 'beta2', label: 'β2', placeholder: '0.999' }],
  adamw: [lr('0.003'), { key: 'beta1', label: 'β1', placeholder: '0.9' }, { key: 'beta2', label: 'β2', placeholder: '0.999' }, { key: 'weightDecay', label: 'weight decay', placeholder: '0.01' }],
  kfac: [lr('0.1'), { key: 'damping', label: 'damping λ', placeholder: '0.03' }, { key: 'inverseEvery', label: 'inverse every', placeholder: '10' }, { key: 'klClip', label: 'KL clip κ', placeholder: '0.001' }],
  shampoo: [lr('0.003'), { key: 'preconditionEvery', label: 'precondition every', placeholder: '10' }, { key: 'graft', label: 'graft', placeholder: 'adam', kind: 'select', options: ['adam', 'sgd'] }],
  'trust-region': [{ key: 'maxKl', label: 'KL budget δ', placeholder: '0.001' }, { key: 'direction', label: 'direction', placeholder: 'cg', kind: 'select', options: ['cg', 'kfac'] }, { key: 'cgIterations', label: 'CG iterations', placeholder: '10' }],
};

export function initialSpec(): Record<string, unknown> {
  return {
    name: 'seed sweep',
    tags: [],
    task: { kind: 'markov', vocabSize: 16, order: 1, concentration: 0.5 },
    model: { ...MODEL_PRESETS.small },
    training: { steps: 200, batchSize: 16, logEvery: 10 },
    optimizers: [
      { kind: 'adam', lr: 0.003 },
      { kind: 'sgd', lr: 0.1 },
    ],
    seeds: { count: 3, vary: 'both' },
    checkpoints: { count: 4 },
    probeSize: 32,
  };
}

/** Returns the preset whose every field matches the model section, or null for a custom size. */
export function presetOf(model: Record<string, unknown>): ModelPreset | null {
  for (const [name, preset] of Object.entries(MODEL_PRESETS)) {
    if (Object.entries(preset).every(([key, value]) => model[key] === value)) return name as ModelPreset;
  }
  return null;
}
