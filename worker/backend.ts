/**
 * Chooses the TensorFlow.js backend for a worker. In order of preference:
 * `tensorflow-gpu` (@tensorflow/tfjs-node-gpu, when installed and a CUDA
 * device is found), `tensorflow` (@tensorflow/tfjs-node), `wasm`
 * (@tensorflow/tfjs-backend-wasm, SIMD, one thread in Node) and `cpu`
 * (@tensorflow/tfjs-backend-cpu, plain JavaScript). A requested backend that
 * cannot load falls back along the same order, and the note gives the reason.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../core/spec';

export type ConcreteBackend = Exclude<BackendName, 'auto'>;

export const BACKEND_ORDER: readonly ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendChoice {
  backend: ConcreteBackend;
  /** Reason a preferred backend was skipped, absent when the first candidate loaded. */
  note?: string;
}

/** The tfjs engine's name for each backend. */
const ENGINE_NAMES: Record<ConcreteBackend, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/**
 * Activates the requested backend, or the first one after it in
 * BACKEND_ORDER that loads. `auto` starts from the top of the order.
 */
export async function selectBackend(requested: BackendName = 'auto'): Promise<BackendChoice> {
  const start = requested === 'auto' ? 0 : BACKEND_ORDER.indexOf(requested);
  const skipped: string[] = [];

  for (const candidate of BACKEND_ORDER.slice(start)) {
    const failure = await tryActivate(candidate);
    if (failure === undefined) {
      const note = skipped.length > 0 ? `${skipped.join('; ')}; using ${candidate}` : undefined;
      return note === undefined ? { backend: candidate } : { backend: candidate, note };
    }
    skipped.push(`${candidate} unavailable (${failure})`);
  }
  throw new Error(`no TensorFlow.js backend could be activated: ${skipped.join('; ')}`);
}

/** Loads and activates one backend. Returns the failure reason, or undefined on success. */
async function tryActivate(candidate: ConcreteBackend): Promise<string | undefined> {
  try {
    await loadBackendPackage(candidate);
  } catch (error) {
    return describeLoadError(error);
  }

  const engineName = ENGINE_NAMES[candidate];
  if (tf.findBackendFactory(engineName) === null) {
    // tfjs-node registers its backend with the tfjs-core copy it depends on;
    // a second copy of tfjs-core in node_modules cannot find it.
    return `the package loaded but registered no "${engineName}" backend with this copy of @tensorflow/tfjs-core`;
  }

  let activated = false;
  try {
    activated = await tf.setBackend(engineName);
    await tf.ready();
  } catch (error) {
    return `activation failed: ${(error as Error).message}`;
  }
  if (!activated) return 'activation failed';

  if (candidate === 'tensorflow-gpu' && !usesGpuDevice()) return 'no CUDA device found';
  return undefined;
}

async function loadBackendPackage(candidate: ConcreteBackend): Promise<void> {
  // The native packages are optional dependencies, so their names stay out of
  // static imports and the typechecker never needs them.
  const nativePackages: Partial<Record<ConcreteBackend, string>> = {
    'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
    tensorflow: '@tensorflow/tfjs-node',
  };
  const nativePackage = nativePackages[candidate];
  if (nativePackage !== undefined) {
    await import(/* @vite-ignore */ nativePackage);
    return;
  }
  if (candidate === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (candidate === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
}

/** Asks the tfjs-node binding whether it runs on a GPU device. Returns false when it cannot tell. */
function usesGpuDevice(): boolean {
  const backend = tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } };
  return backend.binding?.isUsingGpuDevice?.() === true;
}

function describeLoadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'package not installed';
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}
