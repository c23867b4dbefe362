/**
 * Reads the `mds` analysis artefacts: per checkpoint step one payload
 * `{ groups: [{ runIds, spaces: { <space>: { metric, coordinates: [n][2], explained } } }] }`
 * with one group per set of comparable runs (same task and architecture), whose
 * coordinate rows follow `runIds`. A payload without `groups` is read as one group.
 */
import type { MdsPoint } from './distances';
import { metricLabelWithUnit } from './metric-names';
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

/** Returns one map per space and group in every artefact; malformed payloads and rows are skipped. */
export function parseMdsArtifacts(artifacts: ReadonlyArray<{ step: number; subject: string; payload: unknown }>): MdsMap[] {
  const maps: MdsMap[] = [];
  for (const artifact of artifacts) {
    const payload = artifact.payload as { groups?: unknown } | null;
    if (payload === null || typeof payload !== 'object') continue;
    const groups = Array.isArray(payload.groups) ? (payload.groups as unknown[]) : [payload];
    groups.forEach((group, index) => {
      const suffix = groups.length > 1 ? `, group ${index + 1}` : '';
      maps.push(...parseGroup(group as MdsGroup, `${artifact.subject}${index}`, suffix));
    });
  }
  return maps;
}

interface MdsGroup {
  runIds?: unknown;
  spaces?: unknown;
}

function parseGroup(group: MdsGroup, subject: string, titleSuffix: string): MdsMap[] {
  if (!group || !Array.isArray(group.runIds) || group.spaces === null || typeof group.spaces !== 'object') return [];
  const runIds = group.runIds as number[];

  const maps: MdsMap[] = [];
  for (const [space, value] of Object.entries(group.spaces as Record<string, MdsSpace>)) {
    if (!Array.isArray(value.coordinates)) continue;
    const points: MdsPoint[] = [];
    (value.coordinates as unknown[]).forEach((row, i) => {
      if (!Array.isArray(row) || runIds[i] === undefined) return;
      points.push({ runId: runIds[i]!, x: Number(row[0]), y: Number(row[1] ?? 0) });
    });
    const explained = typeof value.explained === 'number' ? `, ${formatValue(value.explained * 100)}% of variance` : '';
    const metric = typeof value.metric === 'string' ? `: ${metricLabelWithUnit(value.metric)}${explained}` : '';
    maps.push({ subject: `${subject}-${space}`, title: `MDS, ${SPACE_TITLES[space] ?? space}${titleSuffix}${metric}`, points });
  }
  return maps;
}
