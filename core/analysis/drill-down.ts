/**
 * Per-position function metrics of one pair at one step, recomputed from the
 * stored probe log-probabilities for drill-down views. Only the per-position
 * means are stored as pair metrics, since keeping [probeSize, contextLength]
 * values for every pair would grow the database by n² arrays per step.
 */
import type Database from 'better-sqlite3';
import { decodeSafetensors } from '../tensors/safetensors';
import { comparePositions, prepareDistribution, type PositionMetrics } from './function-space';
import { readCheckpointBlobs } from './store';

export interface PairPositions {
  /** Shape of every metric array: [probeSize, contextLength]. */
  shape: [number, number];
  metrics: PositionMetrics;
}

export function pairPositionMetrics(db: Database.Database, runA: number, runB: number, step: number): PairPositions {
  const a = probeLogProbs(db, runA, step);
  const b = probeLogProbs(db, runB, step);
  if (a.shape.join(',') !== b.shape.join(',')) {
    throw new Error(`runs ${runA} and ${runB} have probe outputs of shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] at step ${step}`);
  }

  const [probeSize, contextLength, vocab] = a.shape as [number, number, number];
  const metrics = comparePositions(prepareDistribution(a.data, vocab), prepareDistribution(b.data, vocab));
  return { shape: [probeSize, contextLength], metrics };
}

function probeLogProbs(db: Database.Database, runId: number, step: number) {
  const tensor = decodeSafetensors(readCheckpointBlobs(db, runId, step).probeLogProbs).tensors.find((entry) => entry.name === 'logProbs');
  if (tensor === undefined || tensor.shape.length !== 3) {
    throw new Error(`checkpoint of run ${runId} at step ${step} has no "logProbs" tensor of shape [probeSize, contextLength, vocab]`);
  }
  return tensor;
}
