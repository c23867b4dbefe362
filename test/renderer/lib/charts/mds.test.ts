import { describe, expect, it } from 'vitest';
import { parseMdsArtifacts } from '../../../../renderer/src/lib/charts/mds';

describe('parseMdsArtifacts', () => {
  it('maps coordinate rows to run ids per space', () => {
    const maps = parseMdsArtifacts([
      {
        step: 4,
        subject: '',
        payload: {
          runIds: [5, 9],
          spaces: {
            function: { metric: 'fisherRao', coordinates: [[1, 2], [3, 4]], eigenvalues: [2, 1], explained: 0.5 },
            weight: { metric: 'l2', coordinates: [[0, 0], [1, 0]], eigenvalues: [1, 0], explained: null },
          },
        },
      },
    ]);

    expect(maps.map((map) => map.title)).toEqual(['MDS, function space: Fisher–Rao (rad), 50% of variance', 'MDS, weight space: L2']);
    expect(maps[0]!.points).toEqual([
      { runId: 5, x: 1, y: 2 },
      { runId: 9, x: 3, y: 4 },
    ]);
  });

  it('reads one map per space of each group', () => {
    const space = (x: number) => ({ metric: 'l2', coordinates: [[x, 0]], explained: 1 });
    const maps = parseMdsArtifacts([
      {
        step: 4,
        subject: '',
        payload: {
          groups: [
            { runIds: [1], spaces: { weight: space(1) } },
            { runIds: [2], spaces: { weight: space(2), function: space(3) } },
          ],
        },
      },
    ]);

    expect(maps.map((map) => map.title)).toEqual([
      'MDS, weight space, group 1: L2, 100% of variance',
      'MDS, weight space, group 2: L2, 100% of variance',
      'MDS, function space, group 2: L2, 100% of variance',
    ]);
    expect(maps.map((map) => map.points[0])).toEqual([
      { runId: 1, x: 1, y: 0 },
      { runId: 2, x: 2, y: 0 },
      { runId: 2, x: 3, y: 0 },
    ]);
    expect(new Set(maps.map((map) => map.subject)).size).toBe(3);
  });

  it('skips malformed payloads', () => {
    expect(parseMdsArtifacts([{ step: 1, subject: '', payload: { spaces: {} } }, { step: 1, subject: '', payload: null }, { step: 1, subject: '', payload: { groups: [null] } }])).toEqual([]);
  });
});
