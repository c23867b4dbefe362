/** `seedscope run SPEC`, `resume EXP` and `cancel EXP`. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ApiError, type RunInfo } from '../../api';
import { barrierStepsOption } from '../../analysis/cli';
import type { BarrierSteps } from '../../analysis/orchestrate';
import { attachAnalysis } from '../../analysis/service-hook';
import type { Service } from '../../service';
import { formatSpecIssues, parseSweepSpec } from '../../spec';
import { Store } from '../../store/store';
import { CliError, databaseOption, EXIT, openService, parseId, toCliError } from '../context';
import { colorsFor, formatRunTable, type Colors } from '../format';
import { ProgressView } from '../progress';

interface WorkerOptions {
  workers?: number;
  /** False with `--no-analysis`. */
  analysis: boolean;
  barrierSteps: BarrierSteps;
}

function parseWorkers(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 256) {
    throw new CliError(`invalid --workers "${value}"; expected an integer between 1 and 256`, EXIT.invalid);
  }
  return Number(value);
}

const workersOption = () =>
  new Option('--workers <n>', 'worker processes training at once (default: the spec\'s concurrency, else one per CPU core)').argParser(parseWorkers);

const analysisOption = () =>
  new Option('--no-analysis', 'skip the pair distances that are otherwise computed as runs finish (run `seedscope analyze EXP` later)');

export function registerSweepCommands(program: Command): void {
  program
    .command('run')
    .description('validate a sweep spec, store it as a new experiment and train all its runs')
    .argument('<spec>', 'path to the sweep spec JSON file')
    .addOption(workersOption())
    .addOption(analysisOption())
    .addOption(barrierStepsOption())
    .action(async (specPath: string, options: WorkerOptions, command: Command) => {
      process.exitCode = await runSweep(specPath, options, command);
    });

  program
    .command('resume')
    .description('continue the queued and interrupted runs of an experiment from their last checkpoints')
    .argument('<experiment>', 'experiment id')
    .addOption(workersOption())
    .addOption(analysisOption())
    .addOption(barrierStepsOption())
    .action(async (experiment: string, options: WorkerOptions, command: Command) => {
      process.exitCode = await resumeSweep(parseId(experiment, 'experiment id'), options, command);
    });

  program
    .command('cancel')
    .description('cancel the queued and running runs of an experiment (a running sweep stops them within a second)')
    .argument('<experiment>', 'experiment id')
    .action(async (experiment: string, _options: unknown, command: Command) => {
      const id = parseId(experiment, 'experiment id');
      const service = openService(command);
      try {
        await service.cancelExperiment(id);
        const summary = (await service.getExperiment(id))!;
        process.stdout.write(`experiment ${id}: ${summary.runCounts.cancelled} of ${summary.runCounts.total} runs cancelled\n`);
      } catch (error) {
        throw toCliError(error);
      } finally {
        await service.close();
      }
    });
}

/** Reads a spec file; relative paths inside it (a text task's file) are taken relative to the spec's folder. */
function readSpec(specPath: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(specPath, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read sweep spec ${specPath}: ${(error as NodeJS.ErrnoException).message}`, EXIT.invalid);
  }

  if (text.trim() === '') throw new CliError(`sweep spec ${specPath} is empty; write a JSON object such as examples/quick.json`, EXIT.invalid);
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    // The parser quotes the input near the error, which may contain control bytes of a binary file.
    const message = (error as Error).message.replace(/[\u0000-\u001f\u007f]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
    throw new CliError(`sweep spec ${specPath} is not valid JSON: ${message}`, EXIT.invalid);
  }

  const task = (input as { task?: { kind?: unknown; path?: unknown } } | null)?.task;
  if (task && task.kind === 'text' && typeof task.path === 'string' && !path.isAbsolute(task.path)) {
    task.path = path.resolve(path.dirname(specPath), task.path);
  }
  return input;
}

async function runSweep(specPath: string, options: WorkerOptions, command: Command): Promise<number> {
  const input = readSpec(specPath);
  const parsed = parseSweepSpec(input);
  if (!parsed.ok) {
    process.stderr.write(`invalid sweep spec ${specPath}:\n${formatSpecIssues(parsed.issues)}\n`);
    return EXIT.invalid;
  }

  const workers = options.workers ?? parsed.spec.concurrency ?? os.availableParallelism();
  const service = openService(command, { workers, experimentIds: [] });
  let id: number;
  try {
    ({ id } = await service.createExperiment(input));
  } catch (error) {
    await service.close();
    // Checks that need the file system (a text task's file) run in the Service.
    if (error instanceof ApiError && error.issues !== undefined) {
      process.stderr.write(`invalid sweep spec ${specPath}:\n${formatSpecIssues(error.issues)}\n`);
      return EXIT.invalid;
    }
    throw toCliError(error);
  }

  const runCount = service.store.listRuns(id).length;
  process.stdout.write(`experiment ${id}\n`);
  process.stdout.write(`${parsed.spec.name}: ${runCount} runs on ${Math.min(workers, runCount)} worker(s), database ${service.store.file}\n`);
  return driveToEnd(service, id, command, options);
}

async function resumeSweep(experimentId: number, options: WorkerOptions, command: Command): Promise<number> {
  const probe = openService(command);
  const detail = await probe.getExperiment(experimentId);
  await probe.close();
  if (!detail) throw new CliError(`experiment ${experimentId} not found`, EXIT.invalid);

  const workers = options.workers ?? detail.spec.concurrency ?? os.availableParallelism();
  const service = openService(command, { workers, experimentIds: [experimentId] });
  const pending = service.store.listRuns(experimentId).filter((run) => run.status === 'queued' || run.status === 'running').length;
  process.stdout.write(`experiment ${experimentId}\n`);
  process.stdout.write(`${detail.name}: ${pending} run(s) to continue\n`);
  return driveToEnd(service, experimentId, command, options);
}

/**
 * Shows progress until the scheduler has nothing left to do, then prints the
 * summary. SIGINT stops the workers and leaves the runs queued for `resume`.
 */
async function driveToEnd(service: Service, experimentId: number, command: Command, options: WorkerOptions): Promise<number> {
  const { analysis } = options;
  const scheduler = service.scheduler!;
  const colors = colorsFor(process.stdout);
  const view = new ProgressView(scheduler, service.store, process.stdout, colors);
  const detachAnalysis = analysis ? attachAnalysis(service, { barrierSteps: options.barrierSteps }) : async () => undefined;
  const analysisReport = reportAnalysisProgress(service, experimentId);

  let interrupted = false;
  const interrupt = new Promise<void>((resolve) => {
    const onSignal = () => {
      interrupted = true;
      process.once('SIGINT', () => process.exit(EXIT.interrupted));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });

  await Promise.race([scheduler.whenIdle(), interrupt]);
  view.stop();
  if (!interrupted && analysis) {
    analysisReport.start();
    await Promise.race([detachAnalysis(), interrupt]);
  }
  analysisReport.stop();
  await service.close();

  // The summary is read after the scheduler stopped, so it shows the statuses as stored.
  const store = Store.open(service.store.file);
  const detail = store.getExperimentDetail(experimentId);
  store.close();
  if (!detail) return EXIT.failed;

  process.stdout.write(`${formatSummary(detail.runs, colors)}\n`);
  if (interrupted) {
    const dbArgument = databaseOption(command) ? ` --db ${JSON.stringify(service.store.file)}` : '';
    process.stderr.write(`interrupted; continue with: seedscope resume ${experimentId}${dbArgument}\n`);
    return EXIT.interrupted;
  }
  return detail.runs.every((run) => run.status === 'done' || run.status === 'diverged') ? EXIT.ok : EXIT.failed;
}

/**
 * Prints the analysis progress on stderr, at most one line every two seconds,
 * once training has ended. During training the progress bars own the terminal.
 */
function reportAnalysisProgress(service: Service, experimentId: number): { start(): void; stop(): void } {
  let latest: string | null = null;
  let printedAt = 0;
  let active = false;
  const print = () => {
    if (!active || latest === null) return;
    process.stderr.write(`analysis: ${latest}\n`);
    latest = null;
    printedAt = Date.now();
  };
  const unsubscribe = service.subscribe((event) => {
    if (event.type !== 'analysisProgress' || event.experimentId !== experimentId) return;
    latest = event.message;
    if (Date.now() - printedAt >= 2000) print();
  });
  return {
    start: () => {
      active = true;
      print();
    },
    stop: () => {
      print();
      active = false;
      unsubscribe();
    },
  };
}

export function formatSummary(runs: RunInfo[], colors: Colors): string {
  const table = formatRunTable(runs, colors, [
    { title: 'time', cell: (run) => (run.wallSeconds === null ? '-' : `${run.wallSeconds.toFixed(1)} s`) },
  ]);
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  const totals = [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
  return `${table}\n${totals}`;
}
