// `npm start`: the operator doc's sample call (BNSD, q (1,2,1,2) = [0.1, 0.2, 0.3, 0.4], k/v (1,2,2,2)
// = [0.1 … 0.8], FLOAT16, numHeads 2, scale 1/√2) through both entry points, printed beside the
// float64 CPU reference, then a short benchmark (smallest case + decode GQA, ours vs the naive
// baseline). Prints the adapter used.
import { ACLNN_SUCCESS, aclGetRecentErrMsg } from '../src/acl/status.js';
import { aclrtSetDevice, aclrtSynchronizeStream, createStream, type Stream } from '../src/acl/stream.js';
import { aclCreateTensorList, createBuffer, createEmptyTensor, createTensor, readTensor } from '../src/acl/tensor.js';
import {
  aclnnFusedInferAttentionScoreV2, aclnnFusedInferAttentionScoreV2GetWorkspaceSize, fusedInferAttentionScore,
} from '../src/fia/api.js';
import { readHostInputs } from '../src/fia/hostInputs.js';
import { normalize } from '../src/fia/normalize.js';
import { INT_MAX, type FiaInputs, type Layout } from '../src/problem/problem.js';
import { parseArgs } from 'node:util';
import { attentionReference } from '../src/reference/index.js';
import { selectCases } from '../bench/cases.js';
import { adapterName, adapterRecord, formatTable, runBench } from '../bench/core.js';
import { DEVICE_OPTIONS, deviceFromArgs } from '../bench/device.js';
import { RUNNERS } from '../bench/runners.js';

const QUERY = [0.1, 0.2, 0.3, 0.4];
const KV = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
const SCALE = 1 / Math.sqrt(2);

const fmt = (a: ArrayLike<number>) => `[${Array.from(a, (x) => x.toFixed(6)).join(', ')}]`;

function sampleInputs(stream: Stream): FiaInputs {
  return {
    query: createTensor(stream, QUERY, [1, 2, 1, 2], 'FLOAT16', 'sample.q'),
    key: aclCreateTensorList([createTensor(stream, KV, [1, 2, 2, 2], 'FLOAT16', 'sample.k')]),
    value: aclCreateTensorList([createTensor(stream, KV, [1, 2, 2, 2], 'FLOAT16', 'sample.v')]),
    numHeads: 2, scaleValue: SCALE, preTokens: INT_MAX, nextTokens: INT_MAX, inputLayout: 'BNSD', numKeyValueHeads: 0,
    sparseMode: 0, innerPrecise: 1, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0,
    valueAntiquantMode: 0, attentionOut: createEmptyTensor(stream, [1, 2, 1, 2], 'FLOAT16', 'sample.out'), softmaxLse: null,
  };
}

/** Phase 1 + phase 2 exactly as the doc's C sample does, with the 39 positional arguments. */
async function twoPhase(stream: Stream, x: FiaInputs): Promise<Float64Array> {
  const r = aclnnFusedInferAttentionScoreV2GetWorkspaceSize(
    x.query, x.key, x.value, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
    null, null, null, null, null, null, null,
    x.numHeads, x.scaleValue, x.preTokens, x.nextTokens, x.inputLayout as Layout, x.numKeyValueHeads, x.sparseMode,
    x.innerPrecise, x.blockSize, x.antiquantMode, x.softmaxLseFlag, x.keyAntiquantMode, x.valueAntiquantMode,
    x.attentionOut, null,
  );
  if (r.status !== ACLNN_SUCCESS) throw new Error(`GetWorkspaceSize: ${r.status} ${aclGetRecentErrMsg()}`);
  const workspace = r.workspaceSize > 0 ? createBuffer(stream, r.workspaceSize, 'sample.workspace') : null;
  const status = aclnnFusedInferAttentionScoreV2(workspace, r.workspaceSize, r.executor, stream);
  if (status !== ACLNN_SUCCESS) throw new Error(`aclnnFusedInferAttentionScoreV2: ${status} ${aclGetRecentErrMsg()}`);
  const sync = await aclrtSynchronizeStream(stream);
  if (sync !== ACLNN_SUCCESS) throw new Error(`aclrtSynchronizeStream: ${sync} ${aclGetRecentErrMsg()}`);
  workspace?.destroy();
  return readTensor(stream, x.attentionOut!);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: DEVICE_OPTIONS });
  const { adapter, device } = await deviceFromArgs(values);
  const rec = adapterRecord(adapter, device);
  console.log(`adapter: ${adapterName(rec)}${rec.isFallbackAdapter ? ' (fallback/software)' : ''}`);
  const stream = createStream(device);
  aclrtSetDevice(device);

  const x = sampleInputs(stream);
  const problem = normalize(x);
  const reference = attentionReference(problem, await readHostInputs(stream, x, problem)).attentionOut;
  const viaTwoPhase = await twoPhase(stream, x);
  const named = await fusedInferAttentionScore(stream, {
    query: x.query!, key: x.key!, value: x.value!, numHeads: 2, scaleValue: SCALE, inputLayout: 'BNSD', innerPrecise: 1,
  });
  const viaNamed = await readTensor(stream, named.attentionOut);
  const err = (a: Float64Array) => Math.max(...Array.from(a, (v, i) => Math.abs(v - reference[i]!)));
  console.log('\nthe doc sample: BNSD, q (1,2,1,2), k/v (1,2,2,2), FLOAT16, numHeads 2, scale 1/sqrt(2)');
  console.log(`  CPU reference (float64)              ${fmt(reference)}`);
  console.log(`  aclnnFusedInferAttentionScoreV2      ${fmt(viaTwoPhase)}  max |err| ${err(viaTwoPhase).toExponential(2)}`);
  console.log(`  fusedInferAttentionScore (named)     ${fmt(viaNamed)}  max |err| ${err(viaNamed).toExponential(2)}`);
  const tol = 2 ** -10;
  if (err(viaTwoPhase) > tol || err(viaNamed) > tol) throw new Error(`sample differs from the reference by more than ${tol}`);

  console.log('\nshort benchmark (3 timed calls; full set: npm run bench)');
  const report = await runBench({
    device, adapter: rec, cases: selectCases('smoke,decode_gqa'), runners: RUNNERS, iters: 3, warmup: 2,
    gpuTimestampIters: 0, runtime: `node ${process.version}`, commit: 'npm start',
  });
  console.log(`roofline probes: FMA ${report.probes.fmaGflops.toFixed(1)} GFLOP/s, read ${report.probes.readGBs.toFixed(2)} GB/s`);
  console.log(formatTable(report));
  device.destroy();
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
