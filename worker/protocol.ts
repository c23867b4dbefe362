/**
 * Every message exchanged between the scheduler (parent) and a worker process.
 *
 * Workers are forked with `serialization: 'advanced'`, so messages travel by
 * structured clone: NaN, ±Infinity, typed arrays and `Uint8Array` blobs arrive
 * unchanged. Each request carries a `seq` chosen by the parent, and every reply
 * to it repeats that `seq`. Errors travel as data (`{ type: 'error' }`), never as
 * exceptions across the process boundary.
 */
import type { BackendName, RunConfig } from '../core/spec';

/** Bump when a message shape changes incompatibly. */
export const PROTOCOL_VERSION = 1;

/** Everything needed to continue a run bit-exactly from a committed checkpoint. */
export interface ResumeState {
  step: number;
  /** safetensors blob of the parameters, names in the model's fixed order. */
  weights: Uint8Array;
  /** safetensors blob of the optimizer's tensors (moments, factors, step counters). */
  optimizerState: Uint8Array;
  /** Serialisable RNG and data-order position, opaque to the scheduler. */
  trainerState: unknown;
}

export type ParentMessage =
  | { type: 'train'; seq: number; runId: number; config: RunConfig; resume?: ResumeState }
  | { type: 'analyse'; seq: number; job: AnalysisJob }
  | { type: 'cancel'; seq: number }
  | { type: 'shutdown' };

/** Request for model-dependent analysis quantities. Its kinds and payloads are defined in core/analysis/job.ts. */
export interface AnalysisJob {
  kind: string;
  payload: unknown;
}

export interface MetricRow {
  step: number;
  name: string;
  /** Stored as produced, NaN and ±Infinity included. */
  value: number;
}

export interface CheckpointPayload {
  step: number;
  weights: Uint8Array;
  optimizerState: Uint8Array;
  trainerState: unknown;
  /** safetensors blob with `logProbs`: float32 [probeSize, contextLength, vocab]. */
  probeLogProbs: Uint8Array;
  /** Optional safetensors blob of residual-stream activations on the probe set, per layer. */
  probeActivations?: Uint8Array;
}

export interface RunSummary {
  steps: number;
  /** Mean training loss over the last log interval: the `trainLoss` metric at the final step. */
  finalTrainLoss: number;
  finalValidationLoss: number;
  /** KL(p*‖p_θ) on the probe set, for tasks with a known distribution. */
  finalTrueKl?: number;
  wallSeconds: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type WorkerMessage =
  | { type: 'ready'; pid: number; protocolVersion: number }
  | { type: 'started'; seq: number; runId: number; backend: BackendName; backendNote?: string }
  | { type: 'progress'; seq: number; runId: number; step: number; totalSteps: number; loss: number; tokensPerSecond: number }
  | { type: 'metrics'; seq: number; runId: number; rows: MetricRow[] }
  | { type: 'checkpoint'; seq: number; runId: number; checkpoint: CheckpointPayload }
  | { type: 'log'; seq: number; runId?: number; level: LogLevel; message: string }
  | { type: 'done'; seq: number; runId: number; summary: RunSummary }
  | { type: 'diverged'; seq: number; runId: number; step: number; value: number; message: string }
  | { type: 'cancelled'; seq: number; runId: number; step: number }
  | { type: 'analysisResult'; seq: number; result: unknown }
  | { type: 'heartbeat'; seq: number; runId?: number }
  // seq is -1 when the request carried none, as for a message of unknown type.
  | { type: 'error'; seq: number; runId?: number; error: { message: string; stack?: string } };

export type WorkerMessageType = WorkerMessage['type'];
