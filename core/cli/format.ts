/** Terminal formatting for the CLI: colours only on a TTY, aligned tables, stable JSON. */
import pc from 'picocolors';
import { encodeNumber, type RunInfo, type RunStatus } from '../api';

export type Colors = ReturnType<typeof pc.createColors>;

/** Colours for a stream: enabled only when it is a TTY and NO_COLOR is unset. */
export function colorsFor(stream: NodeJS.WriteStream): Colors {
  return pc.createColors(Boolean(stream.isTTY) && !process.env.NO_COLOR);
}

/** Formats a number for a table: NaN, ±Infinity and null spelled out, others with 4 significant digits. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value !== 0 && (Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

/** Renders rows as columns separated by two spaces, with the header in bold when colours are on. */
export function formatTable(header: string[], rows: string[][], colors: Colors): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => stripAnsi(row[column] ?? '').length)));
  const pad = (cell: string, column: number) => cell + ' '.repeat(Math.max(0, widths[column]! - stripAnsi(cell).length));
  const lines = [colors.bold(header.map(pad).join('  ').trimEnd()), ...rows.map((row) => row.map(pad).join('  ').trimEnd())];
  return lines.join('\n');
}

/** Extra column of a run table: its title and how a run fills its cell. */
export interface RunColumn {
  title: string;
  cell: (run: RunInfo) => string;
}

/** Formats runs as a table of ids, seeds, status, step and final losses, followed by the `extra` columns. */
export function formatRunTable(runs: RunInfo[], colors: Colors, extra: RunColumn[]): string {
  const header = ['run', 'optimizer', 'init', 'data', 'status', 'step', 'train loss', 'val loss', 'true KL', ...extra.map((column) => column.title)];
  const rows = runs.map((run) => [
    String(run.id),
    run.optimizerLabel,
    String(run.initSeed),
    String(run.dataSeed),
    colorStatus(run.status, colors),
    `${run.step}/${run.totalSteps}`,
    formatNumber(run.finalTrainLoss),
    formatNumber(run.finalValidationLoss),
    formatNumber(run.finalTrueKl),
    ...extra.map((column) => column.cell(run)),
  ]);
  return formatTable(header, rows, colors);
}

const STATUS_COLOR: Record<RunStatus, keyof Colors> = {
  queued: 'dim',
  running: 'cyan',
  done: 'green',
  diverged: 'yellow',
  failed: 'red',
  cancelled: 'yellow',
};

/** Paints a run status in its colour: green when done, yellow when diverged or cancelled, red when failed. */
export function colorStatus(status: RunStatus, colors: Colors): string {
  const paint = colors[STATUS_COLOR[status]] as (text: string) => string;
  return paint(status);
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/**
 * Serialises `--json` output: two-space indentation, and NaN and ±Infinity
 * as the strings "NaN", "Infinity" and "-Infinity", as the HTTP transport does.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' ? encodeNumber(item) : item), 2);
}
