/**
 * Developer logging: one line per event, `level module: message key=value ...`,
 * on stderr so that command output on stdout stays clean. The level comes from
 * `SEEDSCOPE_LOG` (debug, info, warn, error; default warn) or `setLogLevel`.
 * What a user reads about a run is stored with the run (run_logs), not here.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function levelFromEnv(): Level {
  const value = process.env.SEEDSCOPE_LOG;
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error' ? value : 'warn';
}

let threshold: Level = levelFromEnv();
let sink: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

export function setLogLevel(level: Level): void {
  threshold = level;
}

/** Replaces the output of every logger, e.g. to capture lines in a test; returns the previous one. */
export function setLogSink(next: (line: string) => void): (line: string) => void {
  const previous = sink;
  sink = next;
  return previous;
}

export type Fields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

function formatFields(fields: Fields | undefined): string {
  if (!fields) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    parts.push(/[\s"=]/.test(text) ? `${key}=${JSON.stringify(text)}` : `${key}=${text}`);
  }
  return parts.length > 0 ? ` ${parts.join(' ')}` : '';
}

export function createLogger(module: string): Logger {
  const write = (level: Level, message: string, fields?: Fields) => {
    if (LEVEL_RANK[level] < LEVEL_RANK[threshold]) return;
    sink(`${new Date().toISOString()} ${level} ${module}: ${message}${formatFields(fields)}`);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
