/** Escapes text for ECharts tooltips, which render HTML; run and optimizer labels are user input. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Formats a distance compactly: 4 significant digits, or the name of a non-finite value. */
export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+∞';
  if (value === -Infinity) return '−∞';
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) return value.toExponential(3);
  return Number(value.toPrecision(4)).toString();
}
