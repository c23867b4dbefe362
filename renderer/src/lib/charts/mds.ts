/**
 * Reads the `mds` analysis artefacts: per checkpoint step one payload
 * `{ runIds, spaces: { <space>: { metric, coordinates: [n][2], explained } } }`
 * whose coordinate rows follow `runIds`.
 */
import type { MdsPoint } from './distances';
import { formatValue } from './text';

export interface MdsMap {
  subject: string;
  title: string;
  points: MdsPoint[];
}

const SPACE_TITLES: Record<string, string> = { function: 'function space', weight: 'weight space', alignedWeight: 'weight space, aligned' };

interface MdsSpace {
  metric?: unknown;
  coordinates?: unknown;
  explained?: unknown;
}

/** One map per space in every artefact; malformed payloads and rows are skipped. */
export function parseMdsArtifacts(artifacts: ReadonlyArray<{ step: number; subject: string; payload: unknown }>): MdsMap[] {
  const maps: MdsMap[] = [];
  for (const artifact of artifacts) {
    const payload = artifact.payload as { runIds?: unknown; spaces?: unknown } | null;
    if (!payload || !Array.isArray(payload.runIds) || payload.spaces === null || typeof payload.spaces !== 'object') continue;
    const runIds = payload.runIds as number[];

    for (const [space, value] of Object.entries(payload.spaces as Record<string, MdsSpace>)) {
      if (!Array.isArray(value.coordinates)) continue;
      const points: MdsPoint[] = [];
      (value.coordinates as unknown[]).forEach((row, i) => {
        if (!Array.isArray(row) || runIds[i] === undefined) return;
        points.push({ runId: runIds[i]!, x: Number(row[0]), y: Number(row[1] ?? 0) });
      });
      const explained = typeof value.explained === 'number' ? `, ${formatValue(value.explained * 100)}% of variance` : '';
      const metric = typeof value.metric === 'string' ? ` (${value.metric}${explained})` : '';
      maps.push({ subject: `${artifact.subject}${space}`, title: `MDS, ${SPACE_TITLES[space] ?? space}${metric}`, points });
    }
  }
  return maps;
}
