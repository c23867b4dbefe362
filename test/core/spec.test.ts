import { describe, expect, it } from 'vitest';
import { formatSpecIssues, parseSweepSpec } from '../../core/spec';
import { tinySpec } from './helpers/temp';

function issuesOf(input: unknown) {
  const result = parseSweepSpec(input);
  if (result.ok) throw new Error('expected the spec to be invalid');
  return result.issues;
}

describe('parseSweepSpec', () => {
  it('names field, value and range when out of range', () => {
    const [issue] = issuesOf({ ...tinySpec(), training: { steps: 0 } });
    expect(issue!.path).toBe('training.steps');
    expect(issue!.message).toMatch(/>=1/);
    expect(issue!.message).toMatch(/received 0/);
  });

  it('reports every invalid field at once', () => {
    const issues = issuesOf({ ...tinySpec(), probeSize: 0, optimizers: [{ kind: 'adam', beta2: 1 }] });
    expect(issues.map((issue) => issue.path).sort()).toEqual(['optimizers.0.beta2', 'probeSize']);
  });

  it('names an unknown field and how to fix it', () => {
    const [issue] = issuesOf({ ...tinySpec(), trainng: {} });
    expect(issue!.path).toBe('');
    expect(issue!.message).toMatch(/unknown field\(s\) "trainng"/);
  });

  it('names an unknown optimizer kind', () => {
    const [issue] = issuesOf({ ...tinySpec(), optimizers: [{ kind: 'lion' }] });
    expect(issue!.path).toBe('optimizers.0.kind');
    expect(issue!.message).toMatch(/received "lion"/);
  });

  it('rejects heads that do not divide the model width', () => {
    const [issue] = issuesOf({ ...tinySpec(), model: { dModel: 10, nHeads: 3 } });
    expect(issue!.path).toBe('model.nHeads');
    expect(issue!.message).toMatch(/dModel \(10\) must be divisible by nHeads \(3\)/);
  });

  it('rejects duplicate optimizer labels', () => {
    const [issue] = issuesOf({ ...tinySpec(), optimizers: [{ kind: 'sgd' }, { kind: 'sgd', lr: 0.01 }] });
    expect(issue!.path).toBe('optimizers.1.name');
  });

  it('reports two-field rules beside schema issues', () => {
    const issues = issuesOf({
      name: 'x',
      optimizers: [{ kind: 'adam', lr: -1 }],
      model: { dModel: 32, nHeads: 3 },
      training: { steps: 100 },
      checkpoints: { steps: [50, 999] },
    });

    expect(issues.map((issue) => issue.path)).toEqual(['optimizers.0.lr', 'model.nHeads', 'checkpoints.steps']);
    expect(issues[2]!.message).toContain('checkpoint step 999 is after the last training step 100');
  });

  it('skips a two-field rule when one of its fields is invalid', () => {
    const issues = issuesOf({ name: 'x', optimizers: [{ kind: 'adam' }], model: { dModel: 'wide', nHeads: 3 } });

    expect(issues.map((issue) => issue.path)).toEqual(['model.dModel']);
  });

  it('names the received value of a wrong type once', () => {
    const [issue] = issuesOf({ name: 'x', optimizers: [{ kind: 'adam', lr: '0.1' }] });

    expect(issue!.message).toBe('Invalid input: expected number (received "0.1")');
  });

  it('formats issues one per line', () => {
    expect(formatSpecIssues([{ path: 'a.b', message: 'bad' }, { path: '', message: 'worse' }])).toBe('a.b: bad\n(spec): worse');
  });
});
