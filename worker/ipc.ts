/** IPC helpers shared by the training and analysis worker entries. */
import type { WorkerMessage } from './protocol';

/** Sends a message to the parent process. Does nothing when the process has no IPC channel. */
export function send(message: WorkerMessage): void {
  process.send?.(message);
}

/** Converts a caught value into the `error` field of an `error` message. */
export function errorData(error: unknown): { message: string; stack?: string } {
  if (error instanceof Error) return error.stack === undefined ? { message: error.message } : { message: error.message, stack: error.stack };
  return { message: String(error) };
}
