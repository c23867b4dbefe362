/**
 * Model parameters as plain arrays, and the transformer's layout read from
 * their names and shapes. Linear maps are `y = x W + b` with W [dIn, dOut];
 * head h owns columns [h·dHead, (h+1)·dHead) of wq, wk, wv and the same rows
 * of wo.
 */
import { decodeSafetensors, type NamedTensor } from '../tensors/safetensors';

export interface ParameterTensor {
  shape: number[];
  data: Float32Array | Float64Array;
}

/** Parameters by name, in the model's fixed order. */
export type ParameterMap = Map<string, ParameterTensor>;

export interface TransformerLayout {
  vocab: number;
  contextLength: number;
  dModel: number;
  nHeads: number;
  dHead: number;
  nLayers: number;
  dMlp: number;
  tiedEmbeddings: boolean;
}

/** Decodes a weights checkpoint blob into a parameter map. */
export function parametersFromBlob(blob: Uint8Array): ParameterMap {
  return parametersFromTensors(decodeSafetensors(blob).tensors);
}

export function parametersFromTensors(tensors: NamedTensor[]): ParameterMap {
  const parameters: ParameterMap = new Map();
  for (const tensor of tensors) {
    if (tensor.data instanceof Int32Array) throw new Error(`parameter "${tensor.name}" is I32; expected F32 or F64 weights`);
    parameters.set(tensor.name, { shape: tensor.shape, data: tensor.data });
  }
  return parameters;
}

/**
 * Reads the layout from parameter shapes. The head count cannot be read from
 * shapes, so the caller passes it (the run's `model.nHeads`).
 */
export function layoutOf(parameters: ParameterMap, nHeads: number): TransformerLayout {
  const tokenEmbedding = requireTensor(parameters, 'tokenEmbedding');
  const positionEmbedding = requireTensor(parameters, 'positionEmbedding');
  const [vocab, dModel] = tokenEmbedding.shape as [number, number];
  const contextLength = positionEmbedding.shape[0]!;

  let nLayers = 0;
  while (parameters.has(`blocks.${nLayers}.attn.wq`)) nLayers += 1;
  if (nLayers === 0) throw new Error('parameters contain no transformer block (no "blocks.0.attn.wq")');
  if (!Number.isInteger(nHeads) || nHeads < 1 || dModel % nHeads !== 0) {
    throw new Error(`nHeads must be a positive divisor of dModel ${dModel}; received ${nHeads}`);
  }

  const dMlp = requireTensor(parameters, 'blocks.0.mlp.wUp').shape[1]!;
  const tiedEmbeddings = !parameters.has('unembedding');
  return { vocab, contextLength, dModel, nHeads, dHead: dModel / nHeads, nLayers, dMlp, tiedEmbeddings };
}

export function requireTensor(parameters: ParameterMap, name: string): ParameterTensor {
  const tensor = parameters.get(name);
  if (tensor === undefined) throw new Error(`parameter "${name}" is missing; expected the transformer's fixed parameter names`);
  return tensor;
}

/** Returns the parameter names of a layout in the model's fixed order. */
export function parameterNames(layout: TransformerLayout): string[] {
  const names = ['tokenEmbedding', 'positionEmbedding'];
  for (let block = 0; block < layout.nLayers; block += 1) {
    const prefix = `blocks.${block}`;
    names.push(
      `${prefix}.ln1.gain`,
      `${prefix}.ln1.bias`,
      `${prefix}.attn.wq`,
      `${prefix}.attn.bq`,
      `${prefix}.attn.wk`,
      `${prefix}.attn.bk`,
      `${prefix}.attn.wv`,
      `${prefix}.attn.bv`,
      `${prefix}.attn.wo`,
      `${prefix}.attn.bo`,
      `${prefix}.ln2.gain`,
      `${prefix}.ln2.bias`,
      `${prefix}.mlp.wUp`,
      `${prefix}.mlp.bUp`,
      `${prefix}.mlp.wDown`,
      `${prefix}.mlp.bDown`,
    );
  }
  names.push('lnFinal.gain', 'lnFinal.bias');
  if (!layout.tiedEmbeddings) names.push('unembedding');
  return names;
}

/** Returns the shape of a named parameter in a layout, with weights stored [dIn, dOut]. */
export function parameterShape(name: string, layout: TransformerLayout): number[] {
  const { vocab, contextLength, dModel, dMlp } = layout;
  if (name === 'tokenEmbedding') return [vocab, dModel];
  if (name === 'positionEmbedding') return [contextLength, dModel];
  if (name === 'unembedding') return [dModel, vocab];
  if (/attn\.w[qkvo]$/.test(name)) return [dModel, dModel];
  if (name.endsWith('mlp.wUp')) return [dModel, dMlp];
  if (name.endsWith('mlp.bUp')) return [dMlp];
  if (name.endsWith('mlp.wDown')) return [dMlp, dModel];
  return [dModel];
}
