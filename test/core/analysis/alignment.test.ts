import { describe, expect, it } from 'vitest';
import {
  alignParameters,
  applyPermutation,
  identityPermutation,
  type TransformerPermutation,
} from '../../../core/analysis/alignment';
import { compareDistributions, prepareDistribution } from '../../../core/analysis/function-space';
import type { TransformerLayout } from '../../../core/analysis/parameters';
import { weightDistances } from '../../../core/analysis/weight-space';
import { randomPermutation, seededRandom } from './builders';
import { randomParameters, referenceLogProbs } from './reference-transformer';

const layout: TransformerLayout = {
  vocab: 11,
  contextLength: 6,
  dModel: 12,
  nHeads: 3,
  dHead: 4,
  nLayers: 2,
  dMlp: 20,
  tiedEmbeddings: false,
};

function randomTransformerPermutation(seed: number, shape: TransformerLayout): TransformerPermutation {
  let next = seed;
  const draw = (n: number) => randomPermutation((next += 1), n);
  return {
    residual: draw(shape.dModel),
    blocks: Array.from({ length: shape.nLayers }, () => ({
      mlp: draw(shape.dMlp),
      heads: draw(shape.nHeads),
      queryKey: Array.from({ length: shape.nHeads }, () => draw(shape.dHead)),
      valueOutput: Array.from({ length: shape.nHeads }, () => draw(shape.dHead)),
    })),
  };
}

function probeOutput(parameters: ReturnType<typeof randomParameters>, shape: TransformerLayout) {
  const uniform = seededRandom(99);
  const logProbs: number[] = [];
  for (let sequence = 0; sequence < 3; sequence += 1) {
    const tokens = Array.from({ length: shape.contextLength }, () => Math.floor(uniform() * shape.vocab));
    logProbs.push(...referenceLogProbs(parameters, shape, tokens).flat());
  }
  return prepareDistribution(logProbs, shape.vocab);
}

describe('applyPermutation', () => {
  it('is the identity for the identity permutation', () => {
    const parameters = randomParameters(layout, 1);
    const permuted = applyPermutation(parameters, identityPermutation(layout), layout);
    expect(weightDistances(parameters, permuted).model.l2).toBe(0);
  });

  it('does not modify its input', () => {
    const parameters = randomParameters(layout, 2);
    const before = Float64Array.from(parameters.get('blocks.0.attn.wq')!.data);
    applyPermutation(parameters, randomTransformerPermutation(5, layout), layout);
    expect(parameters.get('blocks.0.attn.wq')!.data).toEqual(before);
  });

  for (const tiedEmbeddings of [false, true]) {
    it(`keeps the function exactly (tied embeddings ${tiedEmbeddings})`, () => {
      const shape = { ...layout, tiedEmbeddings };
      const parameters = randomParameters(shape, 3);
      const permuted = applyPermutation(parameters, randomTransformerPermutation(7, shape), shape);

      const metrics = compareDistributions(probeOutput(parameters, shape), probeOutput(permuted, shape));
      expect(metrics.klAB).toBeLessThan(1e-12);
      expect(metrics.fisherRao).toBeLessThan(1e-6);
      expect(metrics.top1Disagreement).toBe(0);
      expect(weightDistances(parameters, permuted).model.relativeL2).toBeGreaterThan(0.5);
    });
  }

  it('changes the function for a permutation that is not a symmetry', () => {
    // Permuting the columns of wq alone, without wk, breaks the query-key pairing.
    const parameters = randomParameters(layout, 4);
    const broken = new Map(parameters);
    const wq = parameters.get('blocks.0.attn.wq')!;
    const columns = randomPermutation(8, layout.dModel);
    const data = new Float64Array(wq.data.length);
    for (let row = 0; row < layout.dModel; row += 1) {
      for (let column = 0; column < layout.dModel; column += 1) data[row * layout.dModel + column] = wq.data[row * layout.dModel + columns[column]!]!;
    }
    broken.set('blocks.0.attn.wq', { shape: wq.shape, data });
    const metrics = compareDistributions(probeOutput(parameters, layout), probeOutput(broken, layout));
    expect(metrics.klAB).toBeGreaterThan(1e-6);
  });
});

describe('alignParameters', () => {
  it('recovers an exact permutation of the same model', () => {
    const a = randomParameters(layout, 10);
    const b = applyPermutation(a, randomTransformerPermutation(11, layout), layout);
    expect(weightDistances(a, b).model.relativeL2).toBeGreaterThan(0.5);

    const result = alignParameters(a, b, layout);
    expect(weightDistances(a, result.aligned).model.l2).toBeLessThan(1e-12);
    expect(result.similarityHistory[result.similarityHistory.length - 1]).toBeGreaterThan(result.similarityHistory[0]!);
  });

  it('recovers an exact permutation with odd widths', () => {
    const odd: TransformerLayout = { ...layout, dModel: 15, nHeads: 3, dHead: 5, dMlp: 21 };
    const a = randomParameters(odd, 20);
    const b = applyPermutation(a, randomTransformerPermutation(21, odd), odd);

    const result = alignParameters(a, b, odd);

    expect(weightDistances(a, b).model.relativeL2).toBeGreaterThan(0.5);
    expect(weightDistances(a, result.aligned).model.l2).toBeLessThan(1e-12);
  });

  it('recovers a permutation under small noise', () => {
    const a = randomParameters(layout, 12);
    const permuted = applyPermutation(a, randomTransformerPermutation(13, layout), layout);
    const noise = randomParameters(layout, 14, 0.01);
    const b = new Map([...permuted].map(([name, tensor]) => [name, { shape: tensor.shape, data: tensor.data.map((value, i) => value + noise.get(name)!.data[i]! - (name.endsWith('.gain') ? 1 : 0)) }]));

    const result = alignParameters(a, b, layout);
    expect(weightDistances(a, result.aligned).model.relativeL2).toBeLessThan(0.05);
  });

  it('never lowers the similarity of unrelated models', () => {
    const a = randomParameters(layout, 15);
    const b = randomParameters(layout, 16);
    const result = alignParameters(a, b, layout);
    const history = result.similarityHistory;
    for (let i = 1; i < history.length; i += 1) expect(history[i]).toBeGreaterThanOrEqual(history[i - 1]! - 1e-9);
    expect(weightDistances(a, result.aligned).model.l2).toBeLessThan(weightDistances(a, b).model.l2);
  });

  it('keeps the function of the aligned copy', () => {
    const a = randomParameters(layout, 17);
    const b = randomParameters(layout, 18);
    const { aligned } = alignParameters(a, b, layout);
    const metrics = compareDistributions(probeOutput(b, layout), probeOutput(aligned, layout));
    expect(metrics.klAB).toBeLessThan(1e-12);
  });

  it('rejects NaN weights', () => {
    const a = randomParameters(layout, 19);
    const b = randomParameters(layout, 20);
    b.get('tokenEmbedding')!.data[0] = Number.NaN;
    expect(() => alignParameters(a, b, layout)).toThrow(/finite weights/);
  });
});
