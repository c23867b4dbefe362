/**
 * State of the open experiment: its detail and runs (patched live from
 * progress events), run metrics for the loss curves, and pair-metric tables
 * for the Distances and Consistency screens.
 */
import type { ApiEvent, ExperimentDetail, MetricSeries, PairMetricTable, RunInfo } from '../../../../core/api';
import { optimizerLabel } from '../../../../core/spec';
import type { RunDescriptor } from '../charts/distances';
import { assignOptimizerColors, type OptimizerColors } from '../charts/palette';
import { runLabel } from '../format';
import type { AppState } from './app.svelte';

/** Shortest time between two reloads of run metrics while runs report progress. */
const METRICS_RELOAD_MS = 2000;

export class ExperimentState {
  detail = $state.raw<ExperimentDetail | null>(null);
  notFound = $state(false);
  metrics = $state.raw<MetricSeries[]>([]);
  /** Names of every run metric stored for this experiment when the metrics were last loaded in full. */
  metricNames = $state.raw<string[]>([]);
  /** Run metric the loss chart shows; live reloads fetch it and `trainLoss`. */
  shownMetric = $state('trainLoss');
  pairIndex = $state.raw<{ steps: number[]; metrics: string[] }>({ steps: [], metrics: [] });
  /** Tables by `step:metric`. */
  pairTables = $state.raw<Map<string, PairMetricTable>>(new Map());
  analysisMessage = $state<string | null>(null);
  /** Latest training loss per run from progress events, NaN and ±Infinity included. */
  liveLoss = $state.raw<Map<number, number>>(new Map());
  private pendingTables = new Map<string, Promise<void>>();
  private tablesGeneration = 0;
  private reloadTimer: ReturnType<typeof setTimeout> | null = null;
  private lastMetricsLoad = 0;
  private removeListener: () => void;

  constructor(
    private readonly app: AppState,
    readonly id: number,
  ) {
    this.removeListener = app.onEvent((event) => this.handleEvent(event));
  }

  dispose(): void {
    this.removeListener();
    if (this.reloadTimer !== null) clearTimeout(this.reloadTimer);
  }

  get runs(): RunInfo[] {
    return this.detail?.runs ?? [];
  }

  private lastDescriptors: RunDescriptor[] = [];

  /**
   * Chart labels of the runs. A reload of the detail that leaves them as they
   * were returns the same array, so the charts built from it are not redrawn.
   */
  readonly runDescriptors: RunDescriptor[] = $derived.by(() => {
    const next = this.runs.map((run) => ({ id: run.id, optimizer: run.optimizerLabel, label: runLabel(run) }));
    if (JSON.stringify(next) === JSON.stringify(this.lastDescriptors)) return this.lastDescriptors;
    this.lastDescriptors = next;
    return next;
  });

  private lastColors: OptimizerColors = new Map();

  /**
   * Colour of every optimizer label, assigned in the order of the spec's
   * optimizers, so the loss chart, the Distances charts and the Consistency
   * table agree. Unchanged labels return the same map.
   */
  readonly optimizerColors: OptimizerColors = $derived.by(() => {
    const order = this.detail?.spec.optimizers.map(optimizerLabel) ?? [];
    const next = assignOptimizerColors(order, this.runs.map((run) => run.optimizerLabel));
    if (JSON.stringify([...next]) === JSON.stringify([...this.lastColors])) return this.lastColors;
    this.lastColors = next;
    return next;
  });

  async load(): Promise<void> {
    try {
      const detail = await this.app.api.getExperiment(this.id);
      const statusChanged = detail?.status !== this.detail?.status;
      this.notFound = detail === null;
      this.detail = detail;
      // Every metric is loaded on the first load and when the status changes, so the loss chart's menu lists new names.
      // NOTE: a full load sends every logged point of every run; with hundreds of long runs it is large.
      await Promise.all([this.loadMetrics(statusChanged || this.metricNames.length === 0), this.loadPairIndex()]);
    } catch (error) {
      this.app.report(error);
    }
  }

  /**
   * Loads run metrics: all of them with `everyMetric`, else only `trainLoss`
   * (for the runs table) and the metric the chart shows, keeping the other
   * series from the last full load.
   */
  async loadMetrics(everyMetric = false): Promise<void> {
    this.lastMetricsLoad = Date.now();
    if (everyMetric) {
      this.metrics = await this.app.api.getRunMetrics(this.id);
      this.metricNames = [...new Set(this.metrics.map((series) => series.name))];
      return;
    }
    const names = [...new Set(['trainLoss', this.shownMetric])];
    const loaded = await this.app.api.getRunMetrics(this.id, names);
    this.metrics = [...this.metrics.filter((series) => !names.includes(series.name)), ...loaded];
  }

  /**
   * Reloads the list of steps and metrics. With `analysisEnded`, or when the
   * list changed, cached tables are dropped too, because the analysis may
   * have added pairs to them.
   */
  async loadPairIndex(analysisEnded = false): Promise<void> {
    const index = await this.app.api.listPairMetrics(this.id);
    const changed = JSON.stringify(index) !== JSON.stringify(this.pairIndex);
    if (!changed && !analysisEnded) return;
    // Requests still in flight were made before the analysis wrote more pairs; their replies are dropped.
    this.tablesGeneration += 1;
    this.pendingTables.clear();
    this.pairTables = new Map();
    this.pairIndex = index;
  }

  /**
   * Fetches the tables of `metrics` at `step` that are neither loaded nor
   * being fetched, and waits for those being fetched, so that two screens
   * asking at once cause one request and one redraw.
   */
  async ensurePairTables(step: number, metrics: string[]): Promise<void> {
    const keys = metrics.map((metric) => `${step}:${metric}`);
    const missing = metrics.filter((_, i) => !this.pairTables.has(keys[i]!) && !this.pendingTables.has(keys[i]!));
    if (missing.length > 0) {
      const missingKeys = missing.map((metric) => `${step}:${metric}`);
      // A reload of the pair index may have replaced these entries with newer requests, which stay.
      const request: Promise<void> = this.fetchPairTables(step, missing).finally(() => {
        for (const key of missingKeys) if (this.pendingTables.get(key) === request) this.pendingTables.delete(key);
      });
      for (const key of missingKeys) this.pendingTables.set(key, request);
    }
    await Promise.all(keys.map((key) => this.pendingTables.get(key)));
  }

  private async fetchPairTables(step: number, metrics: string[]): Promise<void> {
    const generation = this.tablesGeneration;
    const tables = await this.app.api.getPairMetrics(this.id, step, metrics);
    if (generation !== this.tablesGeneration) return;
    const next = new Map(this.pairTables);
    for (const table of tables) next.set(`${table.step}:${table.metric}`, table);
    this.pairTables = next;
  }

  pairTable(step: number, metric: string): PairMetricTable | undefined {
    return this.pairTables.get(`${step}:${metric}`);
  }

  private handleEvent(event: ApiEvent): void {
    if (event.type === 'runProgress' && event.experimentId === this.id) {
      this.patchRun(event.runId, { status: event.status, step: event.step, totalSteps: event.totalSteps });
      if (event.loss !== null) this.liveLoss = new Map(this.liveLoss).set(event.runId, event.loss);
      this.scheduleReload(false);
    } else if (event.type === 'experiment' && event.experiment.id === this.id) {
      this.scheduleReload(true);
    } else if (event.type === 'analysisProgress' && event.experimentId === this.id) {
      // A pass ends with done equal to total; a failed pass reports total 0 and keeps its message.
      const finished = event.total > 0 && event.done >= event.total;
      this.analysisMessage = finished ? null : event.message;
      if (event.done >= event.total) void this.loadPairIndex(true).catch((error: unknown) => this.app.report(error));
    }
  }

  private patchRun(runId: number, patch: Partial<RunInfo>): void {
    if (this.detail === null) return;
    const runs = this.detail.runs.map((run) => (run.id === runId ? { ...run, ...patch } : run));
    this.detail = { ...this.detail, runs };
  }

  /** Coalesces reloads: a full reload on experiment changes, a metrics reload at most every METRICS_RELOAD_MS. */
  private scheduleReload(full: boolean): void {
    if (this.reloadTimer !== null && !full) return;
    if (this.reloadTimer !== null) clearTimeout(this.reloadTimer);
    const wait = full ? 100 : Math.max(0, METRICS_RELOAD_MS - (Date.now() - this.lastMetricsLoad));
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      const work = full ? this.load() : this.loadMetrics();
      work.catch((error: unknown) => this.app.report(error));
    }, wait);
  }
}
