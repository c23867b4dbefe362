/**
 * The `seedscope` command line. Each feature module adds its commands with a
 * `register…Commands(program)` function listed in `commandRegistrations`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerAnalysisCommands } from '../analysis/cli';
import { createLogger } from '../log';
import { registerReadCommands } from './commands/read';
import { registerSweepCommands } from './commands/sweep';
import { registerServeCommand } from '../serve/command';
import { CliError, EXIT } from './context';
import { colorsFor } from './format';

const log = createLogger('cli');

/** Adds commands to the program; `serve` and `analyze` register here from their own modules. */
export type CommandRegistration = (program: Command) => void;

// The analysis registers its `pairs` exporter too, so it comes before the read commands that list exporters in their help.
export const commandRegistrations: CommandRegistration[] = [registerSweepCommands, registerAnalysisCommands, registerReadCommands, registerServeCommand];

export function createProgram(): Command {
  const program = new Command('seedscope')
    .description('Seed sweeps of small transformers, compared in weight space and function space')
    .option('--db <path>', 'SQLite database file (default: $SEEDSCOPE_DB, else seedscope.db in the app-data folder)')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commandRegistrations) register(program);
  return program;
}

let closedPipeHandled = false;

/**
 * A reader that closes the pipe early (`seedscope export 1 | head`) has all
 * it wants, so the CLI exits quietly with 0 instead of failing on EPIPE.
 */
function exitQuietlyOnClosedPipe(): void {
  if (closedPipeHandled) return;
  closedPipeHandled = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(EXIT.ok);
  });
}

/** Runs the CLI on `argv` (as in process.argv) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version output end with exit code 0; usage errors with 2.
      return error.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    }
    const colors = colorsFor(process.stderr);
    if (error instanceof CliError) {
      process.stderr.write(`${colors.red('seedscope:')} ${error.message}\n`);
      return error.exitCode;
    }
    log.error('command failed', { error: (error as Error).stack ?? String(error) });
    process.stderr.write(`${colors.red('seedscope:')} ${(error as Error).message}\n`);
    return EXIT.failed;
  }
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  process.exitCode = await runCli(process.argv);
}
