/**
 * `seedscope export EXP --what pairs`: every stored pair metric with its run
 * ids, step and metric name, as CSV or JSON. Non-finite values are written as
 * NaN, Infinity and -Infinity (strings in JSON, because JSON has no such numbers).
 */
import type Database from 'better-sqlite3';
import { readPairValues, stringifyPayload } from './store';

export type PairExportFormat = 'csv' | 'json';

export function exportPairs(db: Database.Database, experimentId: number, format: PairExportFormat): string {
  const rows = readPairValues(db, experimentId);
  if (format === 'json') {
    return `${stringifyPayload(rows.map((row) => ({ runA: row.runA, runB: row.runB, step: row.step, metric: row.metric, value: row.value })))}\n`;
  }

  const lines = ['run_a,run_b,step,metric,value'];
  for (const row of rows) lines.push(`${row.runA},${row.runB},${row.step},${csvField(row.metric)},${String(row.value)}`);
  return `${lines.join('\n')}\n`;
}

/** Quotes a field that contains a comma, quote or line break. */
function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
