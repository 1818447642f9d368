// A Problem with sane defaults for reference and kernel tests: dense KV in the query layout, no
// mask/band/pse/prefix/quant, full lengths, scale 1/√D, softmaxLse on, FLOAT16 dtypes.
import type { Layout, Problem, StorageLayout } from '../../src/problem/problem.js';

export type ProblemSpec = Partial<Problem> & {
  batch: number;
  numQoHeads: number;
  headDim: number;
  qSeqLen: number;
  kvSeqLen: number;
};

const readLayout = (l: Layout): StorageLayout => (l === 'BNSD_BSND' ? 'BNSD' : l);
const writeLayout = (l: Layout): StorageLayout => (l === 'BNSD_BSND' ? 'BSND' : l);

export function makeProblem(spec: ProblemSpec): Problem {
  const layout = spec.layout ?? 'BNSD';
  const numKvHeads = spec.numKvHeads ?? spec.numQoHeads;
  const isDecode = spec.isDecode ?? spec.qSeqLen === 1;
  const dtype = spec.queryDtype ?? 'FLOAT16';
  return {
    isDecode,
    layout,
    queryLayout: readLayout(layout),
    outLayout: writeLayout(layout),
    numKvHeads,
    groupSize: spec.numQoHeads / numKvHeads,
    scaleValue: 1 / Math.sqrt(spec.headDim),
    queryDtype: dtype,
    kvDtype: dtype,
    outDtype: dtype,
    qLens: new Array<number>(spec.batch).fill(isDecode ? 1 : spec.qSeqLen),
    kvLens: new Array<number>(spec.batch).fill(spec.kvSeqLen),
    qLeftPadding: false,
    kvLeftPadding: false,
    kv: { kind: 'dense', kvLayout: readLayout(layout), seqLen: spec.kvSeqLen },
    prefix: null,
    mask: null,
    band: null,
    sparseMode: 0,
    pse: null,
    innerPrecise: 1,
    softmaxLse: true,
    antiquant: null,
    int8Attention: null,
    outQuant: null,
    ...spec,
  };
}
