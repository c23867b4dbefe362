/**
 * The analysis commands of the `seedscope` CLI: `analyze EXP` brings the
 * analysis up to date (or recomputes it with --recompute) in a forked
 * analysis worker, and `export EXP --what pairs` writes every pair metric.
 */
import { Option, type Command } from 'commander';
import { CliError, EXIT, openService, parseId } from '../cli/context';
import { registerExporter } from '../cli/commands/read';
import { exportPairs } from './export';
import { analyseExperiment, describeStoredPairs, type BarrierSteps } from './orchestrate';
import { startAnalysisWorker } from './worker-executor';

/** `--barrier-steps all|final`, shared by analyze, run and resume. */
export function barrierStepsOption(): Option {
  return new Option('--barrier-steps <steps>', 'checkpoint steps that get the loss barrier between runs, the slowest metric: all, or only the final step')
    .choices(['all', 'final'])
    .default('all');
}

export function registerAnalysisCommands(program: Command): void {
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
        const worker = await startAnalysisWorker();
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
