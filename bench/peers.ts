// `node dist/bench/peers.js DIR`: the side-by-side table of our bench and the peer harness
// (onnxruntime-web native WebGPU EP, TensorFlow.js WebGPU; see bench/peers/README.md) for the shared cases,
// from DIR/ours.json (npm run bench --out), DIR/ort-native.json and DIR/tfjs.json (the peers' --out).
// Ratios are peer ms / our ms: > 1 means ours is faster. bench/peers/run.mjs runs all three and this.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport, BenchRow } from './core.js';

interface PeerRow {
  peer: string;
  variant: string;
  case: string;
  dtype: string;
  ok: boolean;
  maxAbsErr: number | null;
  medianMs: number | null;
  gpuTsMedianMs: number | null;
  error: string | null;
}

const PEER_DTYPE: Record<string, string> = { float32: 'FLOAT32', float16: 'FLOAT16' };

function loadPeers(file: string): PeerRow[] {
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { results: PeerRow[] }).results;
}

const ms = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(1));
const ratio = (peer: number | null | undefined, ours: number | null | undefined) =>
  peer && ours ? `${(peer / ours).toFixed(2)}×` : '–';

export function peersTable(dir: string): string {
  const ours = JSON.parse(readFileSync(join(dir, 'ours.json'), 'utf8')) as BenchReport;
  const peers = [...loadPeers(join(dir, 'ort-native.json')), ...loadPeers(join(dir, 'tfjs.json'))];
  const lines = [
    `Adapter: ${[ours.adapter.vendor, ours.adapter.architecture, ours.adapter.description].filter(Boolean).join(' / ')}; ` +
      `runtime: ${ours.runtime}; commit ${ours.commit}; ${ours.date}`,
    '',
    '| case | peer (variant) | peer wall ms | peer GPU ms | ours wall ms | ours GPU ms | peer/ours (wall) | peer/ours (GPU) | peer max err | ours max err |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const ourRows = ours.rows.filter((r: BenchRow) => r.runner === 'ours');
  for (const p of peers) {
    const o = ourRows.find((r) => r.caseId === p.case && r.dtype === PEER_DTYPE[p.dtype]);
    if (!o || !p.ok) continue;
    lines.push(`| ${p.case} | ${p.peer} (${p.variant}) | ${ms(p.medianMs)} | ${ms(p.gpuTsMedianMs)} | ${ms(o.wall?.medianMs)} | ` +
      `${ms(o.gpu?.medianMs)} | ${ratio(p.medianMs, o.wall?.medianMs)} | ${ratio(p.gpuTsMedianMs, o.gpu?.medianMs)} | ` +
      `${p.maxAbsErr?.toExponential(1) ?? '–'} | ${o.maxAbsErr?.toExponential(1) ?? '–'} |`);
  }
  const naive = ours.rows.filter((r) => r.runner === 'naive' && ourRows.some((o) => o.caseId === r.caseId));
  if (naive.length > 0) {
    lines.push('', '| case | naive 3-pass wall ms | ours wall ms | naive/ours (wall) |', '|---|---:|---:|---:|');
    for (const n of naive) {
      const o = ourRows.find((r) => r.caseId === n.caseId)!;
      lines.push(`| ${n.caseId} | ${ms(n.wall?.medianMs)} | ${ms(o.wall?.medianMs)} | ${ratio(n.wall?.medianMs, o.wall?.medianMs)} |`);
    }
  }
  return lines.join('\n');
}

if (process.argv[1] && /peers\.js$/.test(process.argv[1])) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node dist/bench/peers.js DIR   (DIR holds ours.json, ort-native.json, tfjs.json)');
    process.exit(2);
  }
  console.log(peersTable(dir));
}
