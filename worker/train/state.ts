/**
 * The trainer's part of a checkpoint: everything besides weights and
 * optimizer state that a bit-exact resume needs. Stored as JSON.
 */
import type { RngState } from '../rng';

export interface TrainerState {
  version: 1;
  /** Last completed step. */
  step: number;
  /** Position of the batch-order stream (from dataSeed). */
  dataRng: RngState;
  /** Position of the stream that samples labels for the true Fisher. */
  labelRng: RngState;
}

/** Validates a trainer state that came back from storage. */
export function parseTrainerState(value: unknown): TrainerState {
  const state = value as Partial<TrainerState> | null;
  if (state === null || typeof state !== 'object' || state.version !== 1 || !Number.isInteger(state.step)) {
    throw new Error(`trainer state must be { version: 1, step, dataRng, labelRng }; received ${JSON.stringify(value)?.slice(0, 200)}`);
  }
  return state as TrainerState;
}
