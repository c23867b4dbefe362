/**
 * Conversion between optimizer state held in TensorFlow.js variables and the
 * named float tensors stored in checkpoints.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '../../core/tensors/safetensors';

/** Copies a float32 tensor's values into a checkpoint entry. */
export function toNamedTensor(name: string, tensor: tf.Tensor): NamedTensor {
  return { name, dtype: 'F32', shape: [...tensor.shape], data: Float32Array.from(tensor.dataSync() as Float32Array) };
}

/** Indexes checkpoint entries by name and rejects duplicates. */
export function indexState(state: NamedTensor[], kind: string): Map<string, NamedTensor> {
  const byName = new Map<string, NamedTensor>();
  for (const entry of state) {
    if (byName.has(entry.name)) throw new Error(`${kind} optimizer state has two entries named "${entry.name}"`);
    byName.set(entry.name, entry);
  }
  return byName;
}

/** Returns the entry `name`, checking that it exists and has the expected shape. */
export function requireEntry(byName: Map<string, NamedTensor>, name: string, shape: readonly number[], kind: string): NamedTensor {
  const entry = byName.get(name);
  if (entry === undefined) {
    throw new Error(`${kind} optimizer state has no entry "${name}"; was it saved by a different optimizer or model?`);
  }
  if (entry.shape.length !== shape.length || entry.shape.some((size, i) => size !== shape[i])) {
    throw new Error(`${kind} optimizer state entry "${name}" has shape [${entry.shape}]; expected [${shape}]`);
  }
  return entry;
}

/** Assigns a checkpoint entry to a variable of the same shape. */
export function assignEntry(variable: tf.Variable, entry: NamedTensor): void {
  tf.tidy(() => variable.assign(tf.tensor(Float32Array.from(entry.data), variable.shape, 'float32')));
}

/** Reads a scalar counter entry (e.g. the step count) stored as I32 or a float. */
export function readCounter(byName: Map<string, NamedTensor>, name: string, kind: string): number {
  const entry = requireEntry(byName, name, [], kind);
  const value = entry.data[0];
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${kind} optimizer state entry "${name}" must be a non-negative integer; received ${value}`);
  }
  return value;
}

export function counterEntry(name: string, value: number): NamedTensor {
  return { name, dtype: 'I32', shape: [], data: Int32Array.of(value) };
}

/** Creates a zero float32 variable shaped like `like`, not trainable. */
export function zerosLike(like: tf.Tensor, name?: string): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zeros(like.shape, 'float32'), false, name));
}
