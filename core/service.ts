/**
 * The Service: the `Api` implemented on the store and, when this process
 * trains, a scheduler. The CLI, Electron's IPC bridge and `seedscope serve`
 * all call it. Reads return data or null, and writes throw `ApiError` naming
 * the input at fault.
 */
import { z } from 'zod';
import { experimentPatchSchema } from './api-schemas';
import {
  ApiError,
  type Api,
  type ApiEvent,
  type ExperimentDetail,
  type ExperimentPatch,
  type ExperimentSummary,
  type MetricSeries,
  type PairMetricTable,
  type ValidationResult,
} from './api';
import { createLogger } from './log';
import { resolveDatabasePath } from './paths';
import { Scheduler, type SchedulerOptions } from './scheduler/scheduler';
import { expandSweep, parseSweepSpec, type RunConfig, type SweepSpec } from './spec';
import { Store } from './store/store';
import { textCorpusProblem } from './text-corpus';

const log = createLogger('service');

/** Callback run after a run ends with status done. It may return a promise, whose rejection is logged. */
export type RunFinishedHook = (experimentId: number, runId: number) => void | Promise<void>;

export interface ServiceOpenOptions {
  /** Database file; `SEEDSCOPE_DB` or the app-data default when absent. */
  dbPath?: string;
  /** Whether to train queued runs in this process. False, the default, opens the Service for reads and edits only. */
  train?: boolean | SchedulerOptions;
}

const idSchema = z.number().int().positive();
const namesSchema = z.array(z.string().min(1)).max(1000);

function checkId(value: unknown, label: string): number {
  const parsed = idSchema.safeParse(value);
  if (!parsed.success) throw new ApiError('invalid', `${label} must be a positive integer (received ${JSON.stringify(value)})`);
  return parsed.data;
}

function checkStep(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw new ApiError('invalid', `step must be a non-negative integer (received ${JSON.stringify(value)})`);
  return value as number;
}

export class Service implements Api {
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private readonly runFinishedHooks = new Set<RunFinishedHook>();

  constructor(
    readonly store: Store,
    readonly scheduler: Scheduler | null = null,
  ) {
    if (scheduler) this.attachScheduler(scheduler);
  }

  /** Opens the database and, when `train` is set, starts a scheduler on it. */
  static open(options: ServiceOpenOptions = {}): Service {
    const store = Store.open(resolveDatabasePath(options.dbPath));
    if (!options.train) return new Service(store);

    const scheduler = new Scheduler(store, options.train === true ? {} : options.train);
    const service = new Service(store, scheduler);
    scheduler.start();
    return service;
  }

  /** Stops the scheduler (in-progress runs go back to the queue) and closes the database. */
  async close(): Promise<void> {
    await this.scheduler?.stop();
    this.listeners.clear();
    this.store.close();
  }

  /** Registers a hook run after each run that ends done, and returns the function that removes it. */
  onRunFinished(hook: RunFinishedHook): () => void {
    this.runFinishedHooks.add(hook);
    return () => this.runFinishedHooks.delete(hook);
  }

  /** Sends an event to every subscriber. Analysis jobs use it for `analysisProgress`. */
  publish(event: ApiEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        log.error('event listener threw', { event: event.type, error: (error as Error).message });
      }
    }
  }

  // Reads.

  async listExperiments(): Promise<ExperimentSummary[]> {
    return this.store.listExperiments();
  }

  async getExperiment(id: number): Promise<ExperimentDetail | null> {
    return this.store.getExperimentDetail(checkId(id, 'experiment id'));
  }

  async getRunMetrics(experimentId: number, names?: string[]): Promise<MetricSeries[]> {
    const parsed = namesSchema.optional().safeParse(names);
    if (!parsed.success) throw new ApiError('invalid', `metric names must be an array of non-empty strings (received ${JSON.stringify(names)})`);
    return this.store.getRunMetrics(checkId(experimentId, 'experiment id'), parsed.data);
  }

  async listPairMetrics(experimentId: number): Promise<{ steps: number[]; metrics: string[] }> {
    return this.store.listPairMetrics(checkId(experimentId, 'experiment id'));
  }

  async getPairMetrics(experimentId: number, step: number, metrics: string[]): Promise<PairMetricTable[]> {
    const parsedMetrics = namesSchema.safeParse(metrics);
    if (!parsedMetrics.success) throw new ApiError('invalid', `metrics must be an array of metric names (received ${JSON.stringify(metrics)})`);
    return this.store.getPairMetrics(checkId(experimentId, 'experiment id'), checkStep(step), parsedMetrics.data);
  }

  async getArtifacts(experimentId: number, kind: string, step?: number): Promise<Array<{ step: number; subject: string; payload: unknown }>> {
    if (typeof kind !== 'string' || kind.length === 0) throw new ApiError('invalid', `artifact kind must be a non-empty string (received ${JSON.stringify(kind)})`);
    return this.store.getArtifacts(checkId(experimentId, 'experiment id'), kind, step === undefined ? undefined : checkStep(step));
  }

  async getRunLog(runId: number): Promise<Array<{ at: string; level: string; message: string }>> {
    return this.store.getRunLog(checkId(runId, 'run id'));
  }

  // Sweeps.

  async validateSpec(spec: unknown): Promise<ValidationResult> {
    const result = validate(spec);
    if (!result.ok) return result;
    return { ok: true, runCount: result.runs.length, spec: result.spec };
  }

  async createExperiment(spec: unknown): Promise<{ id: number }> {
    const result = validate(spec);
    if (!result.ok) {
      const first = result.issues[0];
      const summary = first ? `${first.path || '(spec)'}: ${first.message}` : 'unknown reason';
      throw new ApiError('invalid', `invalid sweep spec (${result.issues.length} issue(s)); first: ${summary}`, result.issues);
    }

    const id = this.store.insertExperiment(result.spec, result.runs);
    log.info('experiment created', { experiment: id, runs: result.runs.length });
    this.publishExperiment(id);
    this.scheduler?.watchExperiment(id);
    return { id };
  }

  async updateExperiment(id: number, patch: ExperimentPatch): Promise<ExperimentSummary> {
    const experimentId = checkId(id, 'experiment id');
    const parsed = experimentPatchSchema.safeParse(patch);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ApiError('invalid', `invalid experiment patch: ${issue.path.join('.') || '(patch)'}: ${issue.message}`);
    }

    const summary = this.store.updateExperiment(experimentId, parsed.data);
    if (!summary) throw new ApiError('not_found', `experiment ${experimentId} not found`);
    this.publish({ type: 'experiment', experiment: summary });
    return summary;
  }

  async deleteExperiment(id: number): Promise<void> {
    const experimentId = checkId(id, 'experiment id');
    const summary = this.store.getExperimentSummary(experimentId);
    if (!summary) throw new ApiError('not_found', `experiment ${experimentId} not found`);
    if (summary.runCounts.running > 0) {
      throw new ApiError('conflict', `experiment ${experimentId} has ${summary.runCounts.running} running run(s); cancel it before deleting`);
    }

    this.store.deleteExperiment(experimentId);
    this.publish({ type: 'experimentDeleted', experimentId });
  }

  async cancelExperiment(id: number): Promise<void> {
    const experimentId = checkId(id, 'experiment id');
    if (!this.store.getExperimentSummary(experimentId)) throw new ApiError('not_found', `experiment ${experimentId} not found`);

    const running = this.store.cancelRuns({ experimentId });
    this.scheduler?.cancelActive(running);
    this.publishExperiment(experimentId);
  }

  async cancelRun(runId: number): Promise<void> {
    const id = checkId(runId, 'run id');
    const run = this.store.getRun(id);
    if (!run) throw new ApiError('not_found', `run ${id} not found`);
    if (run.status !== 'queued' && run.status !== 'running') {
      throw new ApiError('conflict', `run ${id} is ${run.status}; only queued or running runs can be cancelled`);
    }

    const running = this.store.cancelRuns({ runId: id });
    this.scheduler?.cancelActive(running);
    this.publishExperiment(run.experimentId);
  }

  async retryRun(runId: number): Promise<void> {
    const id = checkId(runId, 'run id');
    const run = this.store.getRun(id);
    if (!run) throw new ApiError('not_found', `run ${id} not found`);
    if (run.status === 'queued' || run.status === 'running' || run.status === 'done') {
      throw new ApiError('conflict', `run ${id} is ${run.status}; only failed, diverged or cancelled runs can be retried`);
    }

    this.store.resetRun(id);
    this.publishExperiment(run.experimentId);
    this.scheduler?.watchExperiment(run.experimentId);
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // Scheduler events.

  private attachScheduler(scheduler: Scheduler): void {
    scheduler.on('runStarted', (run) => {
      this.publish({
        type: 'runProgress',
        experimentId: run.experimentId,
        runId: run.id,
        status: 'running',
        step: run.step,
        totalSteps: run.totalSteps,
        loss: null,
        tokensPerSecond: null,
      });
      this.publishExperiment(run.experimentId);
    });
    scheduler.on('runProgress', (event) => this.publish({ type: 'runProgress', status: 'running', ...event }));
    scheduler.on('runRequeued', (event) => this.publishRunStatus(event.experimentId, event.runId));
    scheduler.on('runEnded', (event) => {
      this.publishRunStatus(event.experimentId, event.runId);
      this.publishExperiment(event.experimentId);
      if (event.status === 'done') this.callRunFinishedHooks(event.experimentId, event.runId);
    });
  }

  private publishRunStatus(experimentId: number, runId: number): void {
    const run = this.store.getRun(runId);
    if (!run) return;
    this.publish({ type: 'runProgress', experimentId, runId, status: run.status, step: run.step, totalSteps: run.totalSteps, loss: null, tokensPerSecond: null });
  }

  private publishExperiment(experimentId: number): void {
    if (this.listeners.size === 0) return;
    const experiment = this.store.getExperimentSummary(experimentId);
    if (experiment) this.publish({ type: 'experiment', experiment });
  }

  private callRunFinishedHooks(experimentId: number, runId: number): void {
    for (const hook of this.runFinishedHooks) {
      Promise.resolve()
        .then(() => hook(experimentId, runId))
        .catch((error: unknown) => log.error('run-finished hook failed', { experiment: experimentId, run: runId, error: (error as Error).message }));
    }
  }
}

type Validation = { ok: true; spec: SweepSpec; runs: RunConfig[] } | { ok: false; issues: Array<{ path: string; message: string }> };

function validate(input: unknown): Validation {
  const parsed = parseSweepSpec(input);
  if (!parsed.ok) return parsed;
  let runs: RunConfig[];
  try {
    runs = expandSweep(parsed.spec);
  } catch (error) {
    return { ok: false, issues: [{ path: 'grid', message: `cannot expand the sweep: ${(error as Error).message}` }] };
  }

  const textProblems = new Set<string>();
  for (const run of runs) {
    if (run.task.kind !== 'text') continue;
    const problem = textCorpusProblem(run.task, run.model);
    if (problem !== null) textProblems.add(problem);
  }
  if (textProblems.size > 0) return { ok: false, issues: [...textProblems].map((message) => ({ path: 'task.path', message })) };
  return { ok: true, spec: parsed.spec, runs };
}
