/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header
 * mapping each tensor name to `{ dtype, shape, data_offsets }`, then the raw
 * little-endian data. Python's `safetensors`, NumPy and PyTorch read these
 * blobs directly.
 */

export type SafetensorsDtype = 'F32' | 'F64' | 'I32';

export interface NamedTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
}

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, F64: 8, I32: 4 };

/** Encodes tensors in the given order; `metadata` values must be strings. */
export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;

  let offset = 0;
  for (const tensor of tensors) {
    checkTensor(tensor);
    const byteLength = tensor.data.length * BYTES_PER_ELEMENT[tensor.dtype];
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + byteLength] };
    offset += byteLength;
  }

  // The header is padded with spaces to a multiple of 8 bytes so that the data
  // that follows is aligned for every dtype used here.
  let headerJson = JSON.stringify(header);
  while ((8 + Buffer.byteLength(headerJson)) % 8 !== 0) headerJson += ' ';
  const headerBytes = new TextEncoder().encode(headerJson);

  const blob = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(blob.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  blob.set(headerBytes, 8);

  let cursor = 8 + headerBytes.length;
  for (const tensor of tensors) {
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    blob.set(bytes, cursor);
    cursor += bytes.length;
  }
  return blob;
}

export interface DecodedSafetensors {
  tensors: NamedTensor[];
  metadata: Record<string, string>;
}

/** Decodes a blob; tensors come back in data-offset order and own their memory. */
export function decodeSafetensors(blob: Uint8Array): DecodedSafetensors {
  if (blob.length < 8) throw new Error(`safetensors blob is ${blob.length} bytes; expected at least 8`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > blob.length) {
    throw new Error(`safetensors header length ${headerLength} exceeds the blob size ${blob.length}`);
  }

  const header = JSON.parse(new TextDecoder().decode(blob.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;

  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__') as Array<
    [string, { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] }]
  >;
  entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);

  const tensors = entries.map(([name, entry]) => {
    const [begin, end] = entry.data_offsets;
    // Copying through the Uint8Array constructor gives each tensor its own
    // aligned buffer, also when `blob` is a Node Buffer: Buffer.slice returns
    // a view into a shared memory pool, whose `.buffer` is the whole pool.
    const bytes = new Uint8Array(blob.subarray(dataStart + begin, dataStart + end));
    const data = typedArrayFor(entry.dtype, bytes.buffer);
    const tensor: NamedTensor = { name, dtype: entry.dtype, shape: entry.shape, data };
    checkTensor(tensor);
    return tensor;
  });
  return { tensors, metadata };
}

function typedArrayFor(dtype: SafetensorsDtype, buffer: ArrayBuffer): NamedTensor['data'] {
  if (dtype === 'F32') return new Float32Array(buffer);
  if (dtype === 'F64') return new Float64Array(buffer);
  if (dtype === 'I32') return new Int32Array(buffer);
  throw new Error(`unsupported safetensors dtype ${String(dtype)}; expected F32, F64 or I32`);
}

function checkTensor(tensor: NamedTensor): void {
  const expected = tensor.shape.reduce((product, size) => product * size, 1);
  if (expected !== tensor.data.length) {
    throw new Error(
      `tensor "${tensor.name}" has shape [${tensor.shape.join(', ')}] (${expected} elements) but ${tensor.data.length} values`,
    );
  }
}
