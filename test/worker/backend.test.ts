import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../worker/backend';

describe('selectBackend', () => {
  it('falls back from the native packages and says why', async () => {
    const choice = await selectBackend('auto');
    // The native tfjs-node packages are optional and absent on the build machines.
    expect(choice.backend).toBe('wasm');
    expect(choice.note).toMatch(/^tensorflow-gpu unavailable \(package not installed\); tensorflow unavailable \(package not installed\); using wasm$/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('activates a named backend without a note', async () => {
    expect(await selectBackend('cpu')).toEqual({ backend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('falls back from a named native backend', async () => {
    const choice = await selectBackend('tensorflow');
    expect(choice.backend).toBe('wasm');
    expect(choice.note).toContain('tensorflow unavailable (package not installed)');
  });
});
