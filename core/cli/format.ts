/** Terminal formatting for the CLI: colours only on a TTY, aligned tables, stable JSON. */
import pc from 'picocolors';
import { encodeNumber } from '../api';

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

/** Renders rows as columns separated by two spaces; the header is bold when colours are on. */
export function formatTable(header: string[], rows: string[][], colors: Colors): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => stripAnsi(row[column] ?? '').length)));
  const pad = (cell: string, column: number) => cell + ' '.repeat(Math.max(0, widths[column]! - stripAnsi(cell).length));
  const lines = [colors.bold(header.map(pad).join('  ').trimEnd()), ...rows.map((row) => row.map(pad).join('  ').trimEnd())];
  return lines.join('\n');
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
