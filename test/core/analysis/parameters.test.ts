import { describe, expect, it } from 'vitest';
import { layoutOf, parameterNames, parameterShape, type ParameterMap, type TransformerLayout } from '../../../core/analysis/parameters';

const LAYOUT: TransformerLayout = { vocab: 11, contextLength: 7, dModel: 12, nHeads: 3, dHead: 4, nLayers: 2, dMlp: 20, tiedEmbeddings: false };

function zeroParameters(layout: TransformerLayout): ParameterMap {
  return new Map(
    parameterNames(layout).map((name) => {
      const shape = parameterShape(name, layout);
      return [name, { shape, data: new Float32Array(shape.reduce((product, value) => product * value, 1)) }];
    }),
  );
}

describe('parameterShape', () => {
  it('gives weights as [dIn, dOut]', () => {
    expect(parameterShape('blocks.1.mlp.wUp', LAYOUT)).toEqual([12, 20]);
    expect(parameterShape('blocks.1.mlp.wDown', LAYOUT)).toEqual([20, 12]);
    expect(parameterShape('unembedding', LAYOUT)).toEqual([12, 11]);
  });

  it('round-trips through layoutOf', () => {
    expect(layoutOf(zeroParameters(LAYOUT), LAYOUT.nHeads)).toEqual(LAYOUT);
  });

  it('round-trips tied embeddings', () => {
    const tied = { ...LAYOUT, tiedEmbeddings: true };
    expect(layoutOf(zeroParameters(tied), tied.nHeads)).toEqual(tied);
  });
});
