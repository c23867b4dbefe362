/** Shared pieces of the CLI commands: errors with exit codes, the database option, opening the Service. */
import type { Command } from 'commander';
import { ApiError } from '../api';
import { Service, type ServiceOpenOptions } from '../service';
import { NewerDatabaseError } from '../store/database';

/**
 * Exit codes scripts can rely on: 0 success; 1 a run ended failed or
 * cancelled, or an operation failed; 2 invalid input (spec, arguments,
 * unknown experiment); 130 interrupted by SIGINT.
 */
export const EXIT = { ok: 0, failed: 1, invalid: 2, interrupted: 130 } as const;

/** An error shown to the user as one line, ending the command with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Returns the `--db` value, which may be given before or after the command name. */
export function databaseOption(command: Command): string | undefined {
  return (command.optsWithGlobals() as { db?: string }).db;
}

export function openService(command: Command, train: ServiceOpenOptions['train'] = false): Service {
  try {
    return Service.open({ dbPath: databaseOption(command), train });
  } catch (error) {
    if (error instanceof NewerDatabaseError) throw new CliError(error.message, EXIT.failed);
    throw error;
  }
}

/** Parses a positive integer argument such as an experiment id. */
export function parseId(value: string, label: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CliError(`invalid ${label} "${value}"; expected a positive integer`, EXIT.invalid);
  return Number(value);
}

/** Turns a Service error into a CLI error with the matching exit code. */
export function toCliError(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  return new CliError(error.message, error.code === 'invalid' || error.code === 'not_found' ? EXIT.invalid : EXIT.failed);
}
