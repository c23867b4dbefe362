import { describe, expect, it } from 'vitest';
import { safeFileName, toCsv } from '../../../renderer/src/lib/export';

describe('toCsv', () => {
  it('quotes fields with commas, quotes and line breaks', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], ['line\nbreak', null]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak",\r\n');
  });

  it('writes non-finite numbers by name', () => {
    expect(toCsv(['v'], [[Number.NaN], [Infinity], [-Infinity], [0.1]])).toBe('v\r\nNaN\r\nInfinity\r\n-Infinity\r\n0.1\r\n');
  });
});

describe('safeFileName', () => {
  it('replaces characters that are unsafe in file names', () => {
    expect(safeFileName('adam / sgd: step 10')).toBe('adam-sgd-step-10');
    expect(safeFileName('///')).toBe('export');
  });
});
