/**
 * The analysis commands of the `seedscope` CLI: `analyze EXP` brings the
 * analysis up to date (or recomputes it with --recompute) in a forked
 * analysis worker, and `export EXP --what pairs` writes every pair metric.
 */
import { Option, type Command } from 'commander';
import { encodeNumber } from '../api';
import { CliError, EXIT, openService, parseId } from '../cli/context';
import { registerExporter } from '../cli/commands/read';
import { pairPositionMetrics } from './drill-down';
import { exportPairs } from './export';
import { FUNCTION_METRICS } from './function-space';
import { analyseExperiment, describeStoredPairs, type BarrierSteps } from './orchestrate';
import { startAnalysisWorker, startOnFirstJob } from './worker-executor';

/** `--barrier-steps all|final`, shared by analyze, run and resume. */
export function barrierStepsOption(): Option {
  return new Option('--barrier-steps <steps>', 'checkpoint steps that get the loss barrier between runs, the slowest metric: all, or only the final step')
    .choices(['all', 'final'])
    .default('all');
}

export function registerAnalysisCommands(program: Command): void {
  program
    .command('positions')
    .description('per-position function distances of two runs at one checkpoint step (the pair metrics are their means)')
    .argument('<experiment>', 'experiment id')
    .argument('<runA>', 'run id')
    .argument('<runB>', 'run id')
    .requiredOption('--step <n>', 'checkpoint step')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .action(async (experiment: string, runA: string, runB: string, options: { step: string; format: 'csv' | 'json' }, command: Command) => {
      const id = parseId(experiment, 'experiment id');
      const runs = [parseId(runA, 'run id'), parseId(runB, 'run id')] as const;
      const step = parseId(options.step, 'step');
      const service = openService(command);
      try {
        const detail = await service.getExperiment(id);
        if (!detail) throw new CliError(`experiment ${id} not found`, EXIT.invalid);
        for (const runId of runs) {
          if (!detail.runs.some((run) => run.id === runId)) throw new CliError(`run ${runId} is not in experiment ${id}; see seedscope show ${id}`, EXIT.invalid);
        }
        if (!detail.checkpointSteps.includes(step)) {
          throw new CliError(`step ${step} is not a checkpoint step of experiment ${id}; use one of ${detail.checkpointSteps.join(', ')}`, EXIT.invalid);
        }

        let positions;
        try {
          positions = pairPositionMetrics(service.store.db, runs[0], runs[1], step);
        } catch (error) {
          throw new CliError((error as Error).message, EXIT.failed);
        }
        process.stdout.write(formatPositions(positions.shape, positions.metrics, options.format));
      } finally {
        await service.close();
      }
    });


  registerExporter('pairs', async (service, experimentId, format, output) => {
    output.write(exportPairs(service.store.db, experimentId, format));
  });

  program
    .command('analyze')
    .description('compute the missing pair metrics (function and weight space) of an experiment\'s finished runs')
    .argument('<experiment>', 'experiment id')
    .option('--recompute', 'delete the stored analysis of the experiment and compute it again')
    .option('--path-points <n>', 'points on each straight line between two runs for the loss barrier', '11')
    .addOption(barrierStepsOption())
    .action(async (experiment: string, options: { recompute?: boolean; pathPoints: string; barrierSteps: BarrierSteps }, command: Command) => {
      const id = parseId(experiment, 'experiment id');
      const pathPoints = Number(options.pathPoints);
      if (!Number.isInteger(pathPoints) || pathPoints < 2 || pathPoints > 1001) {
        throw new CliError(`invalid --path-points "${options.pathPoints}"; expected an integer from 2 to 1001`, EXIT.invalid);
      }

      const service = openService(command);
      try {
        if (!(await service.getExperiment(id))) throw new CliError(`experiment ${id} not found`, EXIT.invalid);
        const worker = startOnFirstJob(() => startAnalysisWorker());
        try {
          const summary = await analyseExperiment(service.store.db, id, worker.execute, {
            recompute: options.recompute === true,
            barrierSteps: options.barrierSteps,
            stepOptions: { pathPoints },
            onProgress: (progress) => process.stderr.write(`analysis ${progress.done}/${progress.total} ${progress.message}\n`),
          });
          for (const warning of summary.warnings) process.stderr.write(`warning: ${warning}\n`);
          process.stdout.write(`experiment ${id}: ${describeStoredPairs(service.store.db, id, summary.pairsComputed)}\n`);
        } finally {
          await worker.stop();
        }
      } finally {
        await service.close();
      }
    });
}

/** One row per (sequence, position) with every function metric; JSON keeps NaN and ±Infinity as strings. */
function formatPositions(shape: [number, number], metrics: ReturnType<typeof pairPositionMetrics>['metrics'], format: 'csv' | 'json'): string {
  const [sequences, positions] = shape;
  const rows: Array<Record<string, number>> = [];
  for (let sequence = 0; sequence < sequences; sequence += 1) {
    for (let position = 0; position < positions; position += 1) {
      const index = sequence * positions + position;
      const row: Record<string, number> = { sequence, position };
      for (const metric of FUNCTION_METRICS) row[metric] = metrics[metric][index]!;
      rows.push(row);
    }
  }

  if (format === 'json') {
    return `${JSON.stringify(rows, (_key, item: unknown) => (typeof item === 'number' ? encodeNumber(item) : item))}\n`;
  }
  const header = ['sequence', 'position', ...FUNCTION_METRICS];
  return `${[header.join(','), ...rows.map((row) => header.map((key) => String(row[key])).join(','))].join('\n')}\n`;
}
