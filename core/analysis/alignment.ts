/**
 * Permutation alignment of two transformers by weight matching.
 *
 * These permutations leave the function exactly unchanged:
 * - one permutation of the residual stream, shared by both embeddings, every
 *   LayerNorm, the inputs of wq, wk, wv and wUp, the outputs of wo and wDown,
 *   and the unembedding. LayerNorm allows it because its mean and variance do
 *   not depend on the order of features;
 * - per block, a permutation of MLP hidden units (columns of wUp and bUp, rows
 *   of wDown), because GELU acts elementwise;
 * - per block, a permutation of whole heads, and inside each head one
 *   permutation shared by the query and key columns (the score q·k is a sum
 *   over them) and another shared by the value columns and the rows of wo.
 *
 * Weight matching maximises Σ⟨θa, π(θb)⟩ over these permutations by
 * coordinate descent: each step fixes all permutations but one group and
 * solves a linear assignment for it. The head step is solved jointly: for each
 * pair of heads the best query-key and value-output permutations are linear
 * assignments, and their scores are the costs of a linear assignment over
 * heads. Coordinate descent reaches a local optimum, which for an exactly
 * permuted copy is the exact permutation in practice but is not guaranteed.
 */
import { linearSumAssignment } from 'linear-sum-assignment';
import type { ParameterMap, ParameterTensor, TransformerLayout } from './parameters';
import { checkSameParameters } from './weight-space';

/** Indices are "new position i takes old position permutation[i]". */
export interface BlockPermutation {
  /** [dMlp] */
  mlp: number[];
  /** [nHeads] */
  heads: number[];
  /** [nHeads][dHead], within the old head `heads[h]`, shared by wq and wk columns. */
  queryKey: number[][];
  /** [nHeads][dHead], within the old head `heads[h]`, shared by wv columns and wo rows. */
  valueOutput: number[][];
}

export interface TransformerPermutation {
  /** [dModel] */
  residual: number[];
  blocks: BlockPermutation[];
}

export interface AlignmentResult {
  /** The permutation that maps b onto a: `applyPermutation(b, permutation)` is b aligned to a. */
  permutation: TransformerPermutation;
  aligned: ParameterMap;
  /** Σ⟨θa, π(θb)⟩ before alignment and after each sweep of the coordinate descent. */
  similarityHistory: number[];
}

type AxisGroup = string | null;

export function identityPermutation(layout: TransformerLayout): TransformerPermutation {
  return {
    residual: range(layout.dModel),
    blocks: Array.from({ length: layout.nLayers }, () => ({
      mlp: range(layout.dMlp),
      heads: range(layout.nHeads),
      queryKey: Array.from({ length: layout.nHeads }, () => range(layout.dHead)),
      valueOutput: Array.from({ length: layout.nHeads }, () => range(layout.dHead)),
    })),
  };
}

/** Returns a permuted copy of the parameters; the input is not modified. */
export function applyPermutation(
  parameters: ParameterMap,
  permutation: TransformerPermutation,
  layout: TransformerLayout,
): ParameterMap {
  const groups = groupPermutations(permutation, layout);
  const result: ParameterMap = new Map();
  for (const [name, tensor] of parameters) {
    const [rowGroup, columnGroup] = axisGroups(name);
    result.set(name, permuteTensor(tensor, lookup(groups, rowGroup), lookup(groups, columnGroup)));
  }
  return result;
}

/**
 * Finds the permutation of b that best matches a by weight matching and
 * returns it with the aligned copy of b. Neither input is modified.
 */
export function alignParameters(
  a: ParameterMap,
  b: ParameterMap,
  layout: TransformerLayout,
  options: { maxSweeps?: number } = {},
): AlignmentResult {
  checkSameParameters(a, b);
  const maxSweeps = options.maxSweeps ?? 30;
  const permutation = identityPermutation(layout);
  // Float64 copies keep the inner loops on one array type, which V8 runs several times faster than mixed types.
  const a64 = toFloat64(a);
  const b64 = toFloat64(b);
  const similarityHistory = [similarity(a64, b64)];

  for (let sweep = 0; sweep < maxSweeps; sweep += 1) {
    permutation.residual = matchGroup(a64, b64, permutation, layout, 'residual');
    for (let block = 0; block < layout.nLayers; block += 1) {
      permutation.blocks[block]!.mlp = matchGroup(a64, b64, permutation, layout, `mlp.${block}`);
      Object.assign(permutation.blocks[block]!, matchHeads(a64, b64, permutation, layout, block));
    }

    const current = similarity(a64, applyPermutation(b64, permutation, layout));
    const previous = similarityHistory[similarityHistory.length - 1]!;
    similarityHistory.push(current);
    if (current <= previous + 1e-12 * Math.abs(previous)) break;
  }
  return { permutation, aligned: applyPermutation(b, permutation, layout), similarityHistory };
}

function toFloat64(parameters: ParameterMap): ParameterMap {
  return new Map([...parameters].map(([name, tensor]) => [name, { shape: tensor.shape, data: Float64Array.from(tensor.data) }]));
}

/** Σ⟨θa, θb⟩ over all parameters, in float64. */
function similarity(a: ParameterMap, b: ParameterMap): number {
  let total = 0;
  for (const [name, tensor] of a) {
    const other = b.get(name)!.data;
    for (let i = 0; i < tensor.data.length; i += 1) total += tensor.data[i]! * other[i]!;
  }
  return total;
}

/**
 * Returns the permutation groups acting on the rows and on the columns of a
 * parameter. Vectors have rows only. `qk.i` and `vo.i` are the combined head and
 * within-head column permutations of block i.
 */
function axisGroups(name: string): [AxisGroup, AxisGroup] {
  if (name === 'tokenEmbedding' || name === 'positionEmbedding') return [null, 'residual'];
  if (name === 'unembedding') return ['residual', null];
  if (name.startsWith('lnFinal.')) return ['residual', null];

  const match = /^blocks\.(\d+)\.(.+)$/.exec(name);
  if (match === null) throw new Error(`parameter "${name}" is not part of the transformer layout`);
  const block = match[1]!;
  const part = match[2]!;
  switch (part) {
    case 'ln1.gain':
    case 'ln1.bias':
    case 'ln2.gain':
    case 'ln2.bias':
    case 'attn.bo':
    case 'mlp.bDown':
      return ['residual', null];
    case 'attn.wq':
    case 'attn.wk':
      return ['residual', `qk.${block}`];
    case 'attn.bq':
    case 'attn.bk':
      return [`qk.${block}`, null];
    case 'attn.wv':
      return ['residual', `vo.${block}`];
    case 'attn.bv':
      return [`vo.${block}`, null];
    case 'attn.wo':
      return [`vo.${block}`, 'residual'];
    case 'mlp.wUp':
      return ['residual', `mlp.${block}`];
    case 'mlp.bUp':
      return [`mlp.${block}`, null];
    case 'mlp.wDown':
      return [`mlp.${block}`, 'residual'];
    default:
      throw new Error(`parameter "${name}" is not part of the transformer layout`);
  }
}

function groupPermutations(permutation: TransformerPermutation, layout: TransformerLayout): Map<string, number[]> {
  const groups = new Map<string, number[]>([['residual', permutation.residual]]);
  permutation.blocks.forEach((block, index) => {
    groups.set(`mlp.${index}`, block.mlp);
    groups.set(`qk.${index}`, headColumns(block.heads, block.queryKey, layout.dHead));
    groups.set(`vo.${index}`, headColumns(block.heads, block.valueOutput, layout.dHead));
  });
  return groups;
}

/** Combines a head permutation and within-head permutations into one column permutation [dModel]. */
function headColumns(heads: number[], withinHead: number[][], dHead: number): number[] {
  const columns: number[] = [];
  heads.forEach((oldHead, newHead) => {
    for (const oldColumn of withinHead[newHead]!) columns.push(oldHead * dHead + oldColumn);
  });
  return columns;
}

function lookup(groups: Map<string, number[]>, group: AxisGroup): number[] | null {
  if (group === null) return null;
  const permutation = groups.get(group);
  if (permutation === undefined) throw new Error(`no permutation for group "${group}"; the layout and parameters disagree`);
  return permutation;
}

function permuteTensor(tensor: ParameterTensor, rows: number[] | null, columns: number[] | null): ParameterTensor {
  const rowCount = tensor.shape[0] ?? 1;
  const columnCount = tensor.shape.length > 1 ? tensor.shape[1]! : 1;
  const data = new (tensor.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(tensor.data.length);
  for (let row = 0; row < rowCount; row += 1) {
    const sourceRow = rows === null ? row : rows[row]!;
    for (let column = 0; column < columnCount; column += 1) {
      const sourceColumn = columns === null ? column : columns[column]!;
      data[row * columnCount + column] = tensor.data[sourceRow * columnCount + sourceColumn]!;
    }
  }
  return { shape: [...tensor.shape], data };
}

/**
 * Similarity matrix S[i][j] = Σ over tensors touched by `group` of ⟨slice i of
 * a, slice j of b⟩, where b has every other group's permutation applied.
 */
function groupSimilarity(
  a: ParameterMap,
  b: ParameterMap,
  permutation: TransformerPermutation,
  layout: TransformerLayout,
  group: string,
  size: number,
): Float64Array {
  const groups = groupPermutations(permutation, layout);
  const scores = new Float64Array(size * size);

  for (const [name, tensorA] of a) {
    const [rowGroup, columnGroup] = axisGroups(name);
    if (rowGroup !== group && columnGroup !== group) continue;

    const onRows = rowGroup === group;
    const otherPermutation = lookup(groups, onRows ? columnGroup : rowGroup);
    const tensorB = permuteTensor(b.get(name)!, onRows ? null : otherPermutation, onRows ? otherPermutation : null);
    const rowCount = tensorA.shape[0] ?? 1;
    const columnCount = tensorA.shape.length > 1 ? tensorA.shape[1]! : 1;
    addSliceProducts(scores, tensorA.data as Float64Array, tensorB.data as Float64Array, rowCount, columnCount, onRows, size);
  }
  return scores;
}

function addSliceProducts(
  scores: Float64Array,
  a: Float64Array,
  b: Float64Array,
  rowCount: number,
  columnCount: number,
  onRows: boolean,
  size: number,
): void {
  // Slices along the group's axis become contiguous rows, so every score is one dot product of rows.
  const sliceLength = onRows ? columnCount : rowCount;
  const rowsA = onRows ? a : transpose(a, rowCount, columnCount);
  const rowsB = onRows ? b : transpose(b, rowCount, columnCount);

  // Two rows of a against two rows of b per pass: each loaded value serves two
  // products, which roughly halves the memory traffic of the plain triple loop.
  const pairedRows = size - (size % 2);
  for (let i = 0; i < pairedRows; i += 2) {
    const a0 = i * sliceLength;
    const a1 = a0 + sliceLength;
    for (let j = 0; j < pairedRows; j += 2) {
      const b0 = j * sliceLength;
      const b1 = b0 + sliceLength;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = 0; k < sliceLength; k += 1) {
        const x0 = rowsA[a0 + k]!;
        const x1 = rowsA[a1 + k]!;
        const y0 = rowsB[b0 + k]!;
        const y1 = rowsB[b1 + k]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      scores[i * size + j] += s00;
      scores[i * size + j + 1] += s01;
      scores[(i + 1) * size + j] += s10;
      scores[(i + 1) * size + j + 1] += s11;
    }
  }

  // The last row and column when size is odd.
  for (let i = 0; i < size; i += 1) {
    for (let j = i < pairedRows ? pairedRows : 0; j < size; j += 1) {
      scores[i * size + j] += dot(rowsA, i * sliceLength, rowsB, j * sliceLength, sliceLength);
    }
  }
}

function dot(a: Float64Array, offsetA: number, b: Float64Array, offsetB: number, length: number): number {
  let sum = 0;
  for (let k = 0; k < length; k += 1) sum += a[offsetA + k]! * b[offsetB + k]!;
  return sum;
}

function transpose(values: Float64Array, rowCount: number, columnCount: number): Float64Array {
  const result = new Float64Array(values.length);
  for (let row = 0; row < rowCount; row += 1) {
    for (let column = 0; column < columnCount; column += 1) result[column * rowCount + row] = values[row * columnCount + column]!;
  }
  return result;
}

function matchGroup(
  a: ParameterMap,
  b: ParameterMap,
  permutation: TransformerPermutation,
  layout: TransformerLayout,
  group: 'residual' | `mlp.${number}`,
): number[] {
  const size = group === 'residual' ? layout.dModel : layout.dMlp;
  return maximiseAssignment(groupSimilarity(a, b, permutation, layout, group, size), size, 0, 0, size).assignment;
}

/**
 * Solves the head step of one block: for every pair (head h of a, head g of b)
 * the best within-head permutations for query-key and value-output, then the
 * assignment of heads that maximises the sum of their scores.
 */
function matchHeads(
  a: ParameterMap,
  b: ParameterMap,
  permutation: TransformerPermutation,
  layout: TransformerLayout,
  block: number,
): Pick<BlockPermutation, 'heads' | 'queryKey' | 'valueOutput'> {
  const { nHeads, dHead, dModel } = layout;
  const queryKeyScores = groupSimilarity(a, b, permutation, layout, `qk.${block}`, dModel);
  const valueOutputScores = groupSimilarity(a, b, permutation, layout, `vo.${block}`, dModel);

  // The similarity matrices above were computed with b's current qk and vo
  // column permutations undone, so their column index is b's original column.
  const headScores = new Float64Array(nHeads * nHeads);
  const queryKeyChoices: number[][][] = [];
  const valueOutputChoices: number[][][] = [];
  for (let headA = 0; headA < nHeads; headA += 1) {
    queryKeyChoices.push([]);
    valueOutputChoices.push([]);
    for (let headB = 0; headB < nHeads; headB += 1) {
      const queryKey = maximiseAssignment(queryKeyScores, dModel, headA * dHead, headB * dHead, dHead);
      const valueOutput = maximiseAssignment(valueOutputScores, dModel, headA * dHead, headB * dHead, dHead);
      headScores[headA * nHeads + headB] = queryKey.score + valueOutput.score;
      queryKeyChoices[headA]!.push(queryKey.assignment);
      valueOutputChoices[headA]!.push(valueOutput.assignment);
    }
  }

  const heads = maximiseAssignment(headScores, nHeads, 0, 0, nHeads).assignment;
  return {
    heads,
    queryKey: heads.map((headB, headA) => queryKeyChoices[headA]![headB]!),
    valueOutput: heads.map((headB, headA) => valueOutputChoices[headA]![headB]!),
  };
}

/**
 * Solves max Σ_i S[rowOffset+i][columnOffset+π(i)] over permutations π of a
 * size×size block of a square score matrix with `stride` columns.
 */
function maximiseAssignment(
  scores: Float64Array,
  stride: number,
  rowOffset: number,
  columnOffset: number,
  size: number,
): { assignment: number[]; score: number } {
  const matrix: number[][] = [];
  for (let i = 0; i < size; i += 1) {
    const start = (rowOffset + i) * stride + columnOffset;
    const row = Array.from(scores.subarray(start, start + size));
    if (!row.every(Number.isFinite)) throw new Error('weight matching needs finite weights; a parameter contains NaN or Infinity');
    matrix.push(row);
  }

  const solution = linearSumAssignment(matrix, { maximaze: true });
  const assignment = Array.from(solution.rowAssignments, (column) => column);
  let score = 0;
  for (let i = 0; i < size; i += 1) score += matrix[i]![assignment[i]!]!;
  return { assignment, score };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
