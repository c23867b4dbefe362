/**
 * A naive float64 forward pass of the transformer layout, for tests only: it
 * checks that the permutations used by alignment leave the computed
 * distribution unchanged. Pre-LayerNorm blocks, causal softmax attention
 * scaled by 1/√dHead, tanh-approximated GELU, LayerNorm ε = 1e-5.
 */
import type { ParameterMap, TransformerLayout } from '../../../core/analysis/parameters';
import { parameterNames, parameterShape } from '../../../core/analysis/parameters';
import { seededNormal } from './builders';

type Matrix = number[][];

/** Random parameters of the layout; LayerNorm gains near 1, everything else N(0, scale²). */
export function randomParameters(layout: TransformerLayout, seed: number, scale = 0.5): ParameterMap {
  const normal = seededNormal(seed);
  const parameters: ParameterMap = new Map();
  for (const name of parameterNames(layout)) {
    const shape = parameterShape(name, layout);
    const size = shape.reduce((product, value) => product * value, 1);
    const offset = name.endsWith('.gain') ? 1 : 0;
    parameters.set(name, { shape, data: Float64Array.from({ length: size }, () => offset + scale * normal()) });
  }
  return parameters;
}

/** Log-probabilities [tokens.length, vocab] of the next token at each position. */
export function referenceLogProbs(parameters: ParameterMap, layout: TransformerLayout, tokens: number[]): Matrix {
  const get = (name: string) => parameters.get(name)!;
  const matrix = (name: string): Matrix => {
    const tensor = get(name);
    const [rows, columns] = tensor.shape as [number, number];
    return Array.from({ length: rows }, (_, row) => Array.from(tensor.data.subarray(row * columns, (row + 1) * columns)));
  };
  const vector = (name: string): number[] => Array.from(get(name).data);

  const tokenEmbedding = matrix('tokenEmbedding');
  const positionEmbedding = matrix('positionEmbedding');
  let residual = tokens.map((token, position) => tokenEmbedding[token]!.map((value, k) => value + positionEmbedding[position]![k]!));

  for (let block = 0; block < layout.nLayers; block += 1) {
    const prefix = `blocks.${block}`;
    const normed = layerNorm(residual, vector(`${prefix}.ln1.gain`), vector(`${prefix}.ln1.bias`));
    const attention = attend(normed, layout, (name) => matrix(`${prefix}.attn.${name}`), (name) => vector(`${prefix}.attn.${name}`));
    residual = add(residual, attention);

    const normed2 = layerNorm(residual, vector(`${prefix}.ln2.gain`), vector(`${prefix}.ln2.bias`));
    const hidden = linear(normed2, matrix(`${prefix}.mlp.wUp`), vector(`${prefix}.mlp.bUp`)).map((row) => row.map(gelu));
    residual = add(residual, linear(hidden, matrix(`${prefix}.mlp.wDown`), vector(`${prefix}.mlp.bDown`)));
  }

  const final = layerNorm(residual, vector('lnFinal.gain'), vector('lnFinal.bias'));
  const unembedding = layout.tiedEmbeddings ? transpose(tokenEmbedding) : matrix('unembedding');
  return linear(final, unembedding, null).map(logSoftmax);
}

function attend(x: Matrix, layout: TransformerLayout, weight: (name: string) => Matrix, bias: (name: string) => number[]): Matrix {
  const q = linear(x, weight('wq'), bias('bq'));
  const k = linear(x, weight('wk'), bias('bk'));
  const v = linear(x, weight('wv'), bias('bv'));
  const { nHeads, dHead } = layout;
  const mixed = x.map(() => new Array<number>(layout.dModel).fill(0));

  for (let head = 0; head < nHeads; head += 1) {
    const columns = Array.from({ length: dHead }, (_, j) => head * dHead + j);
    for (let t = 0; t < x.length; t += 1) {
      const scores = Array.from({ length: t + 1 }, (_, s) => columns.reduce((sum, c) => sum + q[t]![c]! * k[s]![c]!, 0) / Math.sqrt(dHead));
      const weights = logSoftmax(scores).map(Math.exp);
      for (const c of columns) mixed[t]![c] = weights.reduce((sum, w, s) => sum + w * v[s]![c]!, 0);
    }
  }
  return linear(mixed, weight('wo'), bias('bo'));
}

function linear(x: Matrix, w: Matrix, b: number[] | null): Matrix {
  return x.map((row) => w[0]!.map((_, j) => row.reduce((sum, value, i) => sum + value * w[i]![j]!, b === null ? 0 : b[j]!)));
}

function layerNorm(x: Matrix, gain: number[], bias: number[]): Matrix {
  return x.map((row) => {
    const mean = row.reduce((sum, value) => sum + value, 0) / row.length;
    const variance = row.reduce((sum, value) => sum + (value - mean) ** 2, 0) / row.length;
    return row.map((value, k) => ((value - mean) / Math.sqrt(variance + 1e-5)) * gain[k]! + bias[k]!);
  });
}

function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

function logSoftmax(row: number[]): number[] {
  const max = Math.max(...row);
  const logSum = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
  return row.map((value) => value - logSum);
}

function add(x: Matrix, y: Matrix): Matrix {
  return x.map((row, t) => row.map((value, k) => value + y[t]![k]!));
}

function transpose(x: Matrix): Matrix {
  return x[0]!.map((_, j) => x.map((row) => row[j]!));
}
