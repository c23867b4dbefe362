import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../../core/tensors/safetensors';

function sampleTensors(): NamedTensor[] {
  return [
    { name: 'w', dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, Number.NaN, Infinity, -0]) },
    { name: 'counts', dtype: 'I32', shape: [3], data: new Int32Array([7, -1, 2 ** 30]) },
    { name: 'moments', dtype: 'F64', shape: [1, 2], data: new Float64Array([1e-300, -Infinity]) },
  ];
}

describe('safetensors', () => {
  it('round-trips names, shapes and values', () => {
    const decoded = decodeSafetensors(encodeSafetensors(sampleTensors(), { format: 'pt' }));

    expect(decoded.metadata).toEqual({ format: 'pt' });
    expect(decoded.tensors.map((tensor) => [tensor.name, tensor.dtype, tensor.shape])).toEqual([
      ['w', 'F32', [2, 3]],
      ['counts', 'I32', [3]],
      ['moments', 'F64', [1, 2]],
    ]);
    sampleTensors().forEach((tensor, i) => expect(Array.from(decoded.tensors[i]!.data)).toEqual(Array.from(tensor.data)));
  });

  it('aligns the data section to eight bytes', () => {
    const blob = encodeSafetensors(sampleTensors());
    const headerLength = Number(new DataView(blob.buffer).getBigUint64(0, true));

    expect((8 + headerLength) % 8).toBe(0);
  });

  it('decodes a blob held in a pooled Node Buffer', () => {
    // Small Buffers share one memory pool, so the blob sits at a non-zero
    // offset of a larger ArrayBuffer, as BLOBs read by better-sqlite3 do.
    const encoded = encodeSafetensors(sampleTensors());
    const pooled = Buffer.from(encoded);
    expect(pooled.byteOffset > 0 || pooled.buffer.byteLength > pooled.length).toBe(true);

    const decoded = decodeSafetensors(pooled);

    sampleTensors().forEach((tensor, i) => expect(Array.from(decoded.tensors[i]!.data)).toEqual(Array.from(tensor.data)));
  });

  it('rejects a shape that does not match the data', () => {
    const wrong: NamedTensor = { name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) };

    expect(() => encodeSafetensors([wrong])).toThrow(/shape \[2, 2\] \(4 elements\) but 3 values/);
  });

  it('rejects a truncated blob', () => {
    const blob = encodeSafetensors(sampleTensors());

    expect(() => decodeSafetensors(blob.subarray(0, 4))).toThrow(/expected at least 8/);
    expect(() => decodeSafetensors(blob.subarray(0, 20))).toThrow(/exceeds the blob size/);
  });
});
