/**
 * The transformer's parameters: their names, shapes and fixed order, and
 * their initialisation from `initSeed`. Linear maps use `y = x W + b` with W
 * of shape [dIn, dOut]; head h owns columns [h·dHead, (h+1)·dHead) of wq, wk
 * and wv and the same rows of wo.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../core/spec';
import type { NamedTensor } from '../../core/tensors/safetensors';
import type { ParamMap } from '../optim/optimizer';
import { Rng } from '../rng';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'zeros' | 'ones';
}

/** The model's architecture: the model config plus the task's vocabulary size. */
export interface Architecture extends ModelConfig {
  vocabSize: number;
}

/** One linear map: its weight and bias names and its widths. */
export interface LinearSpec {
  weight: string;
  bias?: string;
  dIn: number;
  dOut: number;
}

/** Lists every parameter in the documented order. */
export function parameterSpecs(arch: Architecture): ParamSpec[] {
  const { vocabSize: v, contextLength: t, dModel: d, dMlp: m } = arch;
  const specs: ParamSpec[] = [
    { name: 'tokenEmbedding', shape: [v, d], init: 'normal' },
    { name: 'positionEmbedding', shape: [t, d], init: 'normal' },
  ];
  for (let i = 0; i < arch.nLayers; i += 1) {
    const block = `blocks.${i}`;
    specs.push(
      { name: `${block}.ln1.gain`, shape: [d], init: 'ones' },
      { name: `${block}.ln1.bias`, shape: [d], init: 'zeros' },
      { name: `${block}.attn.wq`, shape: [d, d], init: 'normal' },
      { name: `${block}.attn.bq`, shape: [d], init: 'zeros' },
      { name: `${block}.attn.wk`, shape: [d, d], init: 'normal' },
      { name: `${block}.attn.bk`, shape: [d], init: 'zeros' },
      { name: `${block}.attn.wv`, shape: [d, d], init: 'normal' },
      { name: `${block}.attn.bv`, shape: [d], init: 'zeros' },
      { name: `${block}.attn.wo`, shape: [d, d], init: 'normal' },
      { name: `${block}.attn.bo`, shape: [d], init: 'zeros' },
      { name: `${block}.ln2.gain`, shape: [d], init: 'ones' },
      { name: `${block}.ln2.bias`, shape: [d], init: 'zeros' },
      { name: `${block}.mlp.wUp`, shape: [d, m], init: 'normal' },
      { name: `${block}.mlp.bUp`, shape: [m], init: 'zeros' },
      { name: `${block}.mlp.wDown`, shape: [m, d], init: 'normal' },
      { name: `${block}.mlp.bDown`, shape: [d], init: 'zeros' },
    );
  }
  specs.push({ name: 'lnFinal.gain', shape: [d], init: 'ones' }, { name: 'lnFinal.bias', shape: [d], init: 'zeros' });
  if (!arch.tiedEmbeddings) specs.push({ name: 'unembedding', shape: [d, v], init: 'normal' });
  return specs;
}

/** Lists the linear maps whose inputs and output gradients a StepContext captures, in parameter order. */
export function linearSpecs(arch: Architecture): LinearSpec[] {
  const { dModel: d, dMlp: m } = arch;
  const linears: LinearSpec[] = [];
  for (let i = 0; i < arch.nLayers; i += 1) {
    const block = `blocks.${i}`;
    for (const [w, b] of [['wq', 'bq'], ['wk', 'bk'], ['wv', 'bv'], ['wo', 'bo']]) {
      linears.push({ weight: `${block}.attn.${w}`, bias: `${block}.attn.${b}`, dIn: d, dOut: d });
    }
    linears.push({ weight: `${block}.mlp.wUp`, bias: `${block}.mlp.bUp`, dIn: d, dOut: m });
    linears.push({ weight: `${block}.mlp.wDown`, bias: `${block}.mlp.bDown`, dIn: m, dOut: d });
  }
  if (!arch.tiedEmbeddings) linears.push({ weight: 'unembedding', dIn: d, dOut: arch.vocabSize });
  return linears;
}

/**
 * Creates the parameters as trainable variables. Weight matrices and both
 * embeddings are drawn from N(0, initStd²) in parameter order from the
 * `initSeed` stream. The draws happen in JavaScript, so every backend starts
 * from the same bits. Biases start at 0 and layer-norm gains at 1.
 */
export function initParameters(arch: Architecture, initSeed: number): ParamMap {
  const rng = Rng.fromSeed(initSeed, 'model.init');
  const params: ParamMap = new Map();
  for (const spec of parameterSpecs(arch)) {
    const size = spec.shape.reduce((product, n) => product * n, 1);
    const values = new Float32Array(size);
    if (spec.init === 'normal') rng.fillNormal(values, arch.initStd);
    if (spec.init === 'ones') values.fill(1);
    // tidy disposes the initial tensor, and the variable keeps its own reference to the data.
    params.set(spec.name, tf.tidy(() => tf.variable(tf.tensor(values, spec.shape, 'float32'), true)));
  }
  return params;
}

/** Reads the parameters back as named float32 tensors in parameter order. */
export function exportParameters(params: ParamMap): NamedTensor[] {
  return [...params].map(([name, variable]) => ({
    name,
    dtype: 'F32',
    shape: variable.shape.slice(),
    data: variable.dataSync() as Float32Array,
  }));
}

/** Overwrites the parameters with saved values. Every name and shape must match. */
export function loadParameters(params: ParamMap, saved: NamedTensor[]): void {
  const byName = new Map(saved.map((tensor) => [tensor.name, tensor]));
  for (const [name, variable] of params) {
    const tensor = byName.get(name);
    if (tensor === undefined) throw new Error(`saved weights are missing parameter "${name}", so the checkpoint belongs to another architecture; resume it with the model config it was trained with`);
    if (tensor.shape.join(',') !== variable.shape.join(',')) {
      throw new Error(`saved parameter "${name}" has shape [${tensor.shape.join(', ')}] but the model expects [${variable.shape.join(', ')}]; resume it with the model config it was trained with`);
    }
    tf.tidy(() => variable.assign(tf.tensor(tensor.data, tensor.shape, 'float32')));
  }
  if (byName.size !== params.size) {
    const extra = [...byName.keys()].filter((name) => !params.has(name));
    throw new Error(`saved weights have parameters the model does not define: ${extra.join(', ')}; resume them with the model config they were trained with`);
  }
}

export function disposeParameters(params: ParamMap): void {
  for (const variable of params.values()) variable.dispose();
}
