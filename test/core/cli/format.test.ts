import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import { formatNumber, formatTable, toJson } from '../../../core/cli/format';

const plain = pc.createColors(false);

describe('formatNumber', () => {
  it.each([
    [null, '-'],
    [Number.NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [0, '0'],
    [3.14159, '3.142'],
    [123456, '1.235e+5'],
    [0.0001234, '1.234e-4'],
  ])('formats %s as %s', (value, expected) => {
    expect(formatNumber(value)).toBe(expected);
  });
});

describe('formatTable', () => {
  it('aligns columns to the widest cell', () => {
    const table = formatTable(['id', 'name'], [['1', 'a long name'], ['22', 'b']], plain);
    expect(table.split('\n')).toEqual(['id  name', '1   a long name', '22  b']);
  });

  it('ignores colour codes when measuring widths', () => {
    const colors = pc.createColors(true);
    const table = formatTable(['status', 'x'], [[colors.green('done'), '1']], plain);
    expect(table.split('\n')[1]).toBe(`${colors.green('done')}    1`);
  });
});

describe('toJson', () => {
  it('writes non-finite numbers as strings', () => {
    expect(JSON.parse(toJson({ values: [1, Number.NaN, Infinity, -Infinity] }))).toEqual({ values: [1, 'NaN', 'Infinity', '-Infinity'] });
  });
});
