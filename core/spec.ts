/**
 * Sweep spec: the JSON a user writes to describe an experiment, its schema,
 * and its expansion into one `RunConfig` per (optimizer × seed pair × grid point).
 *
 * The schema is the single source of validation for the CLI, the HTTP server
 * and the Electron IPC handlers. Error messages name the field path, the value
 * received and the allowed range.
 */
import { z } from 'zod';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const positive = (max: number) => z.number().positive().max(max);

export const markovTaskSchema = z.strictObject({
  kind: z.literal('markov'),
  /** Number of distinct tokens V. */
  vocabSize: int(2, 4096).default(64),
  /** Order k of the chain: the next token depends on the previous k tokens. */
  order: int(1, 3).default(1),
  /**
   * Dirichlet concentration of each transition row. Small values give peaked,
   * low-entropy rows; large values give rows close to uniform.
   */
  concentration: positive(1000).default(0.5),
  /** Seed of the chain itself and of the validation and probe splits. */
  taskSeed: int(0, 2 ** 31 - 1).default(0),
});

export const modularTaskSchema = z.strictObject({
  kind: z.literal('modular'),
  /** Prime-or-not modulus p of a + b = c (mod p). */
  modulus: int(2, 1000).default(97),
  /** Share of all p² equations used for training; the rest is validation. */
  trainFraction: z.number().gt(0).lt(1).default(0.5),
  taskSeed: int(0, 2 ** 31 - 1).default(0),
});

export const textTaskSchema = z.strictObject({
  kind: z.literal('text'),
  /** Path to a UTF-8 text file, modelled character by character. */
  path: z.string().min(1),
  /** Share of the file (from its end) held out for validation. */
  validationFraction: z.number().gt(0).lt(1).default(0.1),
  taskSeed: int(0, 2 ** 31 - 1).default(0),
});

export const taskSchema = z.discriminatedUnion('kind', [markovTaskSchema, modularTaskSchema, textTaskSchema]);

export const modelSchema = z.strictObject({
  /** Context length T in tokens. */
  contextLength: int(2, 1024).default(32),
  dModel: int(4, 1024).default(64),
  nHeads: int(1, 64).default(4),
  nLayers: int(1, 24).default(2),
  /** Hidden width of each MLP block. */
  dMlp: int(4, 8192).default(256),
  /** When true the output projection reuses the token embedding matrix. */
  tiedEmbeddings: z.boolean().default(false),
  /** Standard deviation of the normal initialisation of weight matrices. */
  initStd: positive(1).default(0.02),
});

export const scheduleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant') }),
  z.strictObject({
    kind: z.literal('cosine'),
    warmupSteps: int(0, 10_000_000).default(0),
    /** Final learning rate as a fraction of the peak. */
    minLrRatio: z.number().min(0).max(1).default(0.1),
  }),
]);

export const trainingSchema = z.strictObject({
  steps: int(1, 10_000_000).default(500),
  batchSize: int(1, 4096).default(32),
  logEvery: int(1, 1_000_000).default(10),
  schedule: scheduleSchema.default({ kind: 'constant' }),
  /** Clip the global gradient L2 norm to this value; omit to disable. */
  gradClip: positive(1e6).optional(),
  /** Number of validation sequences evaluated at each log step. */
  validationSize: int(1, 100_000).default(256),
});

const lr = positive(100);
const weightDecay = z.number().min(0).max(10);

export const sgdSchema = z.strictObject({
  kind: z.literal('sgd'),
  name: z.string().min(1).optional(),
  lr: lr.default(0.1),
  momentum: z.number().min(0).lt(1).default(0.9),
  nesterov: z.boolean().default(false),
  weightDecay: weightDecay.default(0),
});

export const adamSchema = z.strictObject({
  kind: z.literal('adam'),
  name: z.string().min(1).optional(),
  lr: lr.default(3e-3),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: positive(1).default(1e-8),
});

export const adamwSchema = adamSchema.extend({
  kind: z.literal('adamw'),
  weightDecay: weightDecay.default(0.01),
});

export const kfacSchema = z.strictObject({
  kind: z.literal('kfac'),
  name: z.string().min(1).optional(),
  lr: lr.default(0.1),
  momentum: z.number().min(0).lt(1).default(0),
  /** Decay of the running averages of the Kronecker factors A and G. */
  factorDecay: z.number().min(0).lt(1).default(0.95),
  /**
   * Tikhonov damping λ added to both factors. Output-gradient factors of the
   * default model's inner layers are far below 1e-3 at initialisation, so a
   * smaller λ lets those layers take steps whose measured KL exceeds the
   * clipping budget many times over.
   */
  damping: positive(1e6).default(3e-2),
  /** Adapt the damping with the Levenberg–Marquardt rule. */
  adaptiveDamping: z.boolean().default(false),
  /** Recompute the factor inverses every this many steps. */
  inverseEvery: int(1, 1_000_000).default(10),
  /** true: labels sampled from the model; empirical: the data labels. */
  fisher: z.enum(['true', 'empirical']).default('true'),
  /** KL clipping budget κ for the step scale ν = min(1, √(κ / Σ lr²⟨F̂⁻¹g, g⟩)). */
  klClip: positive(1e6).default(1e-3),
  /** Optimizer used for parameters that have no Kronecker factors. */
  fallback: z.enum(['adam', 'diagonal']).default('adam'),
});

export const shampooSchema = z.strictObject({
  kind: z.literal('shampoo'),
  name: z.string().min(1).optional(),
  lr: lr.default(3e-3),
  /** Initial value ε of L and R (as ε·I) and the relative eigenvalue floor. */
  epsilon: positive(1).default(1e-6),
  /** Running-average decay of L and R; 1 means a plain sum. */
  decay: z.number().gt(0).max(1).default(1),
  /** Recompute L^{-1/4} and R^{-1/4} every this many steps. */
  preconditionEvery: int(1, 1_000_000).default(10),
  /** Optimizer whose per-layer update norm the Shampoo direction is grafted onto. */
  graft: z.enum(['adam', 'sgd']).default('adam'),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
});

export const trustRegionSchema = z.strictObject({
  kind: z.literal('trust-region'),
  name: z.string().min(1).optional(),
  /** KL budget δ (nats per position) between the model before and after a step. */
  maxKl: positive(10).default(1e-3),
  /** Search direction: natural gradient by conjugate gradient, or K-FAC's. */
  direction: z.enum(['cg', 'kfac']).default('cg'),
  cgIterations: int(1, 1000).default(10),
  /** Damping added to the Fisher–vector product. */
  damping: positive(1e6).default(1e-3),
  backtrackFactor: z.number().gt(0).lt(1).default(0.8),
  maxBacktracks: int(0, 100).default(10),
});

export const optimizerSchema = z.discriminatedUnion('kind', [
  sgdSchema,
  adamSchema,
  adamwSchema,
  kfacSchema,
  shampooSchema,
  trustRegionSchema,
]);

export const seedsSchema = z
  .strictObject({
    /** Number of seed pairs; ignored when `list` is given. */
    count: int(1, 10_000).default(4),
    /** Explicit seed values; each entry gives one run per optimizer. */
    list: z.array(int(0, 2 ** 31 - 1)).min(1).max(10_000).optional(),
    /** First seed when `count` is used. */
    base: int(0, 2 ** 31 - 1).default(0),
    /**
     * Which seed varies across runs: `init` keeps the data-order seed at
     * `base`, `data` keeps the initialisation seed at `base`, `both` varies both.
     */
    vary: z.enum(['both', 'init', 'data']).default('both'),
  })
  .refine((seeds) => seeds.list === undefined || new Set(seeds.list).size === seeds.list.length, {
    message: 'seed list contains duplicates; give each seed once',
    path: ['list'],
  });

export const checkpointsSchema = z.strictObject({
  /** Number of log-spaced checkpoint steps, the last step always included. */
  count: int(1, 1000).default(8),
  /** Explicit checkpoint steps; overrides `count`. The last step is always added. */
  steps: z.array(int(1, 10_000_000)).optional(),
});

export const backendSchema = z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);

/**
 * Grid axes over numeric training settings. Each key is a dotted path into the
 * spec (`training.batchSize`, `model.dModel`, `optimizer.lr`), each value the
 * list of values to try; the sweep takes the Cartesian product.
 */
export const gridSchema = z.record(z.string().regex(/^(task|model|training|optimizer)\.[A-Za-z]+$/), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1).max(1000));

export const sweepSpecSchema = z.strictObject({
  name: z.string().min(1).max(200),
  notes: z.string().max(100_000).default(''),
  tags: z.array(z.string().min(1).max(64)).max(64).default([]),
  task: taskSchema.default({ kind: 'markov', vocabSize: 64, order: 1, concentration: 0.5, taskSeed: 0 }),
  model: modelSchema.prefault({}),
  training: trainingSchema.prefault({}),
  optimizers: z.array(optimizerSchema).min(1).max(64),
  seeds: seedsSchema.prefault({}),
  checkpoints: checkpointsSchema.prefault({}),
  /** Number of probe sequences on which function-space distances are measured. */
  probeSize: int(1, 100_000).default(64),
  /** Worker processes for this sweep; defaults to the number of CPU cores. */
  concurrency: int(1, 256).optional(),
  backend: backendSchema.default('auto'),
  grid: gridSchema.default({}),
});

export type SweepSpecInput = z.input<typeof sweepSpecSchema>;
export type SweepSpec = z.output<typeof sweepSpecSchema>;
export type TaskConfig = z.output<typeof taskSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type TrainingConfig = z.output<typeof trainingSchema>;
export type OptimizerConfig = z.output<typeof optimizerSchema>;
export type BackendName = z.output<typeof backendSchema>;

/** Everything one worker needs to train one run, resolved from a spec. */
export interface RunConfig {
  task: TaskConfig;
  model: ModelConfig;
  training: TrainingConfig;
  optimizer: OptimizerConfig;
  /** Display label of the optimizer config, unique within the sweep. */
  optimizerLabel: string;
  initSeed: number;
  dataSeed: number;
  /** Sorted, unique, each in [1, training.steps], ending with training.steps. */
  checkpointSteps: number[];
  probeSize: number;
  backend: BackendName;
  /** Grid values applied to this run, keyed by their dotted path. */
  gridPoint: Record<string, number | boolean | string>;
}

export interface SpecIssue {
  /** Dotted path of the offending field, e.g. `optimizers.1.lr`. */
  path: string;
  message: string;
}

export type SpecResult = { ok: true; spec: SweepSpec } | { ok: false; issues: SpecIssue[] };

/** Validates untrusted JSON; never throws. */
export function parseSweepSpec(input: unknown): SpecResult {
  const parsed = sweepSpecSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => describeIssue(issue, input));
    return { ok: false, issues: [...issues, ...checkRawCrossFieldRules(input, issues)] };
  }

  const crossIssues = checkCrossFieldRules(parsed.data);
  if (crossIssues.length > 0) return { ok: false, issues: crossIssues };
  return { ok: true, spec: parsed.data };
}

/** Formats issues as one line each, `path: message`, for terminals and logs. */
export function formatSpecIssues(issues: SpecIssue[]): string {
  return issues.map((issue) => `${issue.path || '(spec)'}: ${issue.message}`).join('\n');
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): SpecIssue {
  const path = issue.path.map(String).join('.');
  const received = valueAt(input, issue.path);
  const shown = received === undefined ? 'nothing' : JSON.stringify(received);
  let message = issue.message;
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    message = `${issue.message} (received ${shown})`;
  } else if (issue.code === 'invalid_type') {
    // Zod names the received type; the value itself is the more useful part.
    message = `${issue.message.replace(/, received \w+$/, '')} (received ${shown})`;
  } else if (issue.code === 'unrecognized_keys') {
    message = `unknown field(s) ${issue.keys.map((key) => `"${key}"`).join(', ')}; remove them or check the spelling`;
  } else if (issue.code === 'invalid_union' || issue.code === 'invalid_value') {
    message = `${issue.message} (received ${shown})`;
  }
  return { path, message };
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Runs the rules that relate two fields on input that failed the schema, so
 * the user sees them in the same round as the other issues. A rule is checked
 * only when both of its fields passed the schema (defaults fill absent fields).
 */
function checkRawCrossFieldRules(input: unknown, schemaIssues: SpecIssue[]): SpecIssue[] {
  const failed = new Set(schemaIssues.map((issue) => issue.path));
  const model = modelSchema.safeParse(valueAt(input, ['model']) ?? {});
  const training = trainingSchema.safeParse(valueAt(input, ['training']) ?? {});
  const checkpoints = checkpointsSchema.safeParse(valueAt(input, ['checkpoints']) ?? {});
  const issues: SpecIssue[] = [];

  if (model.success && !failed.has('model.dModel') && !failed.has('model.nHeads') && model.data.dModel % model.data.nHeads !== 0) {
    issues.push(divisibilityIssue(model.data));
  }
  if (training.success && checkpoints.success) {
    issues.push(...checkpointStepIssues(checkpoints.data.steps ?? [], training.data.steps));
  }
  return issues;
}

function divisibilityIssue(model: ModelConfig): SpecIssue {
  return {
    path: 'model.nHeads',
    message: `dModel (${model.dModel}) must be divisible by nHeads (${model.nHeads}); pick nHeads among the divisors of dModel`,
  };
}

function checkpointStepIssues(steps: number[], lastStep: number): SpecIssue[] {
  return steps
    .filter((step) => step > lastStep)
    .map((step) => ({
      path: 'checkpoints.steps',
      message: `checkpoint step ${step} is after the last training step ${lastStep}; use steps between 1 and ${lastStep}`,
    }));
}

function checkCrossFieldRules(spec: SweepSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (spec.model.dModel % spec.model.nHeads !== 0) issues.push(divisibilityIssue(spec.model));
  issues.push(...checkpointStepIssues(spec.checkpoints.steps ?? [], spec.training.steps));
  issues.push(...checkGridValues(spec));
  if (issues.length === 0 && Object.keys(spec.grid).length > 0) {
    for (const run of expandSweep(spec)) {
      if (run.model.dModel % run.model.nHeads !== 0) {
        issues.push({
          path: 'grid',
          message: `grid point ${JSON.stringify(run.gridPoint)} gives dModel ${run.model.dModel} with nHeads ${run.model.nHeads}; dModel must be divisible by nHeads`,
        });
        break;
      }
    }
  }

  const labels = spec.optimizers.map(optimizerLabel);
  const seen = new Set<string>();
  labels.forEach((label, index) => {
    if (seen.has(label)) {
      issues.push({
        path: `optimizers.${index}.name`,
        message: `two optimizer configs share the label "${label}"; give each a distinct "name"`,
      });
    }
    seen.add(label);
  });
  return issues;
}

/** Checks each grid value against the schema of the section it overrides. */
function checkGridValues(spec: SweepSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  for (const [path, values] of Object.entries(spec.grid)) {
    const [section, field] = path.split('.') as [string, string];
    values.forEach((value, index) => {
      const targets: Array<{ schema: z.ZodType; base: object }> =
        section === 'optimizer'
          ? spec.optimizers.map((optimizer) => ({ schema: optimizerSchema, base: optimizer }))
          : [{ schema: sectionSchemas[section as keyof typeof sectionSchemas], base: spec[section as keyof typeof sectionSchemas] }];
      for (const target of targets) {
        const result = target.schema.safeParse({ ...target.base, [field]: value });
        if (!result.success) {
          const first = result.error.issues[0];
          issues.push({
            path: `grid.${path}.${index}`,
            message: `value ${JSON.stringify(value)} is invalid for ${path}: ${first?.message ?? 'rejected by the schema'}`,
          });
          break;
        }
      }
    });
  }
  return issues;
}

const sectionSchemas = { task: taskSchema, model: modelSchema, training: trainingSchema } as const;

/** The label shown for an optimizer config: its `name`, or its kind. */
export function optimizerLabel(optimizer: OptimizerConfig): string {
  return optimizer.name ?? optimizer.kind;
}

/**
 * Returns `count` log-spaced steps in [1, lastStep], rounded, unique and
 * ascending, always ending with `lastStep`.
 */
export function logSpacedSteps(lastStep: number, count: number): number[] {
  if (count <= 1 || lastStep <= 1) return [lastStep];

  const steps = new Set<number>();
  for (let i = 0; i < count; i += 1) {
    const fraction = i / (count - 1);
    steps.add(Math.max(1, Math.round(Math.exp(fraction * Math.log(lastStep)))));
  }
  steps.add(lastStep);
  return [...steps].sort((a, b) => a - b);
}

export function checkpointStepsFor(spec: SweepSpec, steps: number = spec.training.steps): number[] {
  const explicit = spec.checkpoints.steps;
  if (explicit === undefined) return logSpacedSteps(steps, spec.checkpoints.count);
  return [...new Set([...explicit.filter((step) => step <= steps), steps])].sort((a, b) => a - b);
}

/** Expands a validated spec into its runs, in a fixed order: grid point, optimizer, seed. */
export function expandSweep(spec: SweepSpec): RunConfig[] {
  const seedPairs = seedPairsFor(spec.seeds);
  const runs: RunConfig[] = [];
  for (const gridPoint of gridPoints(spec.grid)) {
    for (const optimizer of spec.optimizers) {
      for (const [initSeed, dataSeed] of seedPairs) {
        runs.push(resolveRun(spec, optimizer, gridPoint, initSeed, dataSeed));
      }
    }
  }
  return runs;
}

function seedPairsFor(seeds: SweepSpec['seeds']): Array<[number, number]> {
  const values = seeds.list ?? Array.from({ length: seeds.count }, (_, i) => seeds.base + i);
  const fixed = seeds.list?.[0] ?? seeds.base;
  return values.map((value) => {
    if (seeds.vary === 'init') return [value, fixed];
    if (seeds.vary === 'data') return [fixed, value];
    return [value, value];
  });
}

function gridPoints(grid: SweepSpec['grid']): Array<Record<string, number | boolean | string>> {
  let points: Array<Record<string, number | boolean | string>> = [{}];
  for (const [path, values] of Object.entries(grid)) {
    points = points.flatMap((point) => values.map((value) => ({ ...point, [path]: value })));
  }
  return points;
}

function resolveRun(
  spec: SweepSpec,
  optimizer: OptimizerConfig,
  gridPoint: Record<string, number | boolean | string>,
  initSeed: number,
  dataSeed: number,
): RunConfig {
  const sections = {
    task: { ...spec.task } as Record<string, unknown>,
    model: { ...spec.model } as Record<string, unknown>,
    training: { ...spec.training } as Record<string, unknown>,
    optimizer: { ...optimizer } as Record<string, unknown>,
  };
  for (const [path, value] of Object.entries(gridPoint)) {
    const [section, field] = path.split('.') as [keyof typeof sections, string];
    sections[section][field] = value;
  }

  const task = taskSchema.parse(sections.task);
  const model = modelSchema.parse(sections.model);
  const training = trainingSchema.parse(sections.training);
  const resolvedOptimizer = optimizerSchema.parse(sections.optimizer);
  return {
    task,
    model,
    training,
    optimizer: resolvedOptimizer,
    optimizerLabel: optimizerLabel(optimizer),
    initSeed,
    dataSeed,
    checkpointSteps: checkpointStepsFor(spec, training.steps),
    probeSize: spec.probeSize,
    backend: spec.backend,
    gridPoint,
  };
}
