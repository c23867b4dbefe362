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

    expect(maps.map((map) => map.title)).toEqual(['MDS, function space (fisherRao, 50% of variance)', 'MDS, weight space (l2)']);
    expect(maps[0]!.points).toEqual([
      { runId: 5, x: 1, y: 2 },
      { runId: 9, x: 3, y: 4 },
    ]);
  });

  it('skips malformed payloads', () => {
    expect(parseMdsArtifacts([{ step: 1, subject: '', payload: { spaces: {} } }, { step: 1, subject: '', payload: null }])).toEqual([]);
  });
});
