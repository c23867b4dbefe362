/** `seedscope ls`, `show EXP` and `export EXP`: reads that never start workers. */
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import type { Service } from '../../service';
import { CliError, EXIT, openService, parseId } from '../context';
import { colorsFor, formatRunTable, formatTable, toJson } from '../format';

/** Writes one export of an experiment in a format to a stream. */
export type Exporter = (service: Service, experimentId: number, format: 'csv' | 'json', output: NodeJS.WritableStream) => Promise<void>;

/** Exporters by `--what` value; other modules add theirs with `registerExporter`. */
const exporters = new Map<string, Exporter>([['metrics', exportMetrics]]);

export function registerExporter(kind: string, exporter: Exporter): void {
  exporters.set(kind, exporter);
}

export function registerReadCommands(program: Command): void {
  program
    .command('ls')
    .description('list experiments, newest first')
    .option('--json', 'print the experiment summaries as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const service = openService(command);
      try {
        const experiments = await service.listExperiments();
        if (options.json) {
          process.stdout.write(`${toJson(experiments)}\n`);
          return;
        }
        const colors = colorsFor(process.stdout);
        const rows = experiments.map((experiment) => [
          String(experiment.id),
          experiment.name,
          experiment.status,
          `${experiment.runCounts.done + experiment.runCounts.diverged}/${experiment.runCounts.total}`,
          experiment.optimizers.join(','),
          experiment.createdAt.slice(0, 19).replace('T', ' '),
        ]);
        process.stdout.write(`${formatTable(['id', 'name', 'status', 'runs', 'optimizers', 'created (UTC)'], rows, colors)}\n`);
      } finally {
        await service.close();
      }
    });

  program
    .command('show')
    .description('show an experiment and its runs: optimizer, seeds, status, final losses, backend, SHA-256 of the final weights')
    .argument('<experiment>', 'experiment id')
    .option('--json', 'print the experiment with its spec and runs as JSON')
    .action(async (experiment: string, options: { json?: boolean }, command: Command) => {
      const id = parseId(experiment, 'experiment id');
      const service = openService(command);
      try {
        const detail = await service.getExperiment(id);
        if (!detail) throw new CliError(`experiment ${id} not found`, EXIT.invalid);
        if (options.json) {
          process.stdout.write(`${toJson(detail)}\n`);
          return;
        }

        const colors = colorsFor(process.stdout);
        const lines = [
          `${colors.bold(`experiment ${detail.id}`)}  ${detail.name}  ${detail.status}`,
          `created ${detail.createdAt}, task ${detail.task}, ${detail.runCounts.total} runs, checkpoints at steps ${detail.checkpointSteps.join(', ') || '-'}`,
        ];
        if (detail.notes) lines.push(`notes: ${detail.notes}`);
        if (detail.tags.length > 0) lines.push(`tags: ${detail.tags.join(', ')}`);
        process.stdout.write(`${lines.join('\n')}\n\n`);

        const table = formatRunTable(detail.runs, colors, [
          { title: 'backend', cell: (run) => run.backend ?? '-' },
          { title: 'weights SHA-256', cell: (run) => run.weightsSha256 ?? '-' },
        ]);
        process.stdout.write(`${table}\n`);
        const failed = detail.runs.filter((run) => run.error);
        for (const run of failed) process.stdout.write(`run ${run.id}: ${run.error}\n`);
      } finally {
        await service.close();
      }
    });

  program
    .command('export')
    .description('write an experiment\'s data as CSV or JSON to stdout or a file')
    .argument('<experiment>', 'experiment id')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .addOption(new Option('--what <data>', 'what to export: metrics (per-run series), or a kind another module registers, such as pairs').default('metrics'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (experiment: string, options: { format: 'csv' | 'json'; what: string; out?: string }, command: Command) => {
      const id = parseId(experiment, 'experiment id');
      const exporter = exporters.get(options.what);
      if (!exporter) throw new CliError(`invalid --what "${options.what}"; expected one of ${[...exporters.keys()].join(', ')}`, EXIT.invalid);

      const service = openService(command);
      try {
        if (!(await service.getExperiment(id))) throw new CliError(`experiment ${id} not found`, EXIT.invalid);
        const output = options.out ? fs.createWriteStream(options.out) : process.stdout;
        await exporter(service, id, options.format, output);
        if (options.out) await new Promise<void>((resolve, reject) => (output as fs.WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve())));
      } finally {
        await service.close();
      }
    });
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Metrics export. CSV: one row per (run, metric, step) with the columns
 * run_id, optimizer, init_seed, data_seed, metric, step, value. JSON: the
 * runs and their series, NaN and ±Infinity as strings.
 */
async function exportMetrics(service: Service, experimentId: number, format: 'csv' | 'json', output: NodeJS.WritableStream): Promise<void> {
  const detail = (await service.getExperiment(experimentId))!;
  const series = await service.getRunMetrics(experimentId);

  if (format === 'json') {
    const runs = detail.runs.map((run) => ({ id: run.id, optimizer: run.optimizerLabel, initSeed: run.initSeed, dataSeed: run.dataSeed, status: run.status }));
    output.write(`${toJson({ experimentId, runs, metrics: series })}\n`);
    return;
  }

  const runs = new Map(detail.runs.map((run) => [run.id, run]));
  output.write('run_id,optimizer,init_seed,data_seed,metric,step,value\n');
  for (const metric of series) {
    const run = runs.get(metric.runId)!;
    const prefix = `${run.id},${csvField(run.optimizerLabel)},${run.initSeed},${run.dataSeed},${csvField(metric.name)}`;
    // String conversion writes NaN and ±Infinity as NaN, Infinity and -Infinity.
    const lines = metric.steps.map((step, index) => `${prefix},${step},${metric.values[index]!}\n`);
    output.write(lines.join(''));
  }
}
