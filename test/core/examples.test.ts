import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../core/paths';
import { expandSweep, parseSweepSpec } from '../../core/spec';

function load(name: string) {
  return parseSweepSpec(JSON.parse(fs.readFileSync(path.join(repositoryRoot, 'examples', name), 'utf8')));
}

describe('examples', () => {
  it('quick.json is two optimizers times four seeds', () => {
    const parsed = load('quick.json');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const runs = expandSweep(parsed.spec);
    expect(runs).toHaveLength(8);
    expect(new Set(runs.map((run) => run.optimizerLabel))).toEqual(new Set(['sgd', 'adam']));
  });

  it('consistency.json covers six optimizers with eight seeds', () => {
    const parsed = load('consistency.json');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const runs = expandSweep(parsed.spec);
    expect(runs).toHaveLength(48);
    expect(new Set(runs.map((run) => run.optimizer.kind))).toEqual(new Set(['sgd', 'adam', 'adamw', 'kfac', 'shampoo', 'trust-region']));
  });

  it('optimizers.json runs each optimizer once', () => {
    const parsed = load('optimizers.json');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const runs = expandSweep(parsed.spec);
    expect(runs.map((run) => run.optimizer.kind)).toEqual(['sgd', 'adam', 'adamw', 'kfac', 'shampoo', 'trust-region']);
  });
});
