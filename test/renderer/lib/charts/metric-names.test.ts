import { describe, expect, it } from 'vitest';
import { metricLabel, metricLabelWithUnit, metricUnit, runMetricChoices } from '../../../../renderer/src/lib/charts/metric-names';

describe('metricLabel', () => {
  it('names pair metrics for display', () => {
    expect(metricLabel('symmetricKl')).toBe('symmetric KL');
    expect(metricLabel('fisherRao')).toBe('Fisher–Rao');
    expect(metricLabel('l2')).toBe('L2');
    expect(metricLabel('alignedL2')).toBe('aligned L2');
    expect(metricLabel('alignedRelativeL2')).toBe('aligned relative L2');
  });

  it('names run and optimizer metrics for display', () => {
    expect(metricLabel('trainLoss')).toBe('train loss');
    expect(metricLabel('tokensPerSecond')).toBe('tokens per second');
    expect(metricLabel('opt.damping')).toBe('optimizer damping');
  });

  it('returns an unknown name unchanged', () => {
    expect(metricLabel('somethingElse')).toBe('somethingElse');
  });
});

describe('metricUnit', () => {
  it('gives nats, radians and milliseconds', () => {
    expect(metricUnit('trainLoss')).toBe('nats');
    expect(metricUnit('symmetricKl')).toBe('nats');
    expect(metricUnit('jensenShannon')).toBe('nats');
    expect(metricUnit('fisherRao')).toBe('rad');
    expect(metricUnit('stepMs')).toBe('ms');
    expect(metricUnit('opt.refreshMs')).toBe('ms');
    expect(metricUnit('opt.stepKl')).toBe('nats');
  });

  it('leaves L2 and fractions without a unit', () => {
    expect(metricUnit('l2')).toBeUndefined();
    expect(metricUnit('alignedL2')).toBeUndefined();
    expect(metricUnit('top1Disagreement')).toBeUndefined();
    expect(metricLabelWithUnit('alignedL2')).toBe('aligned L2');
  });

  it('appends the unit in brackets', () => {
    expect(metricLabelWithUnit('validationLoss')).toBe('validation loss (nats)');
  });
});

describe('runMetricChoices', () => {
  it('lists standard metrics then present optimizer metrics', () => {
    const choices = runMetricChoices(['trainLoss', 'opt.stepKl', 'opt.damping', 'lr', 'opt.damping']);

    expect(choices.slice(0, 8)).toEqual(['trainLoss', 'validationLoss', 'trueKl', 'gradNorm', 'updateNorm', 'lr', 'tokensPerSecond', 'stepMs']);
    expect(choices.slice(8)).toEqual(['opt.damping', 'opt.stepKl']);
  });
});
