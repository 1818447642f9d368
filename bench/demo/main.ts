// `npm run demo`: the generation demo (bench/demo/generate.ts) in Node, on Dawn's adapter
// (SwiftShader when there is no GPU). Prints the tokens, the per-token host and GPU time, tokens/s
// and the check of the first decode steps' attention against the float64 reference.
import { parseArgs } from 'node:util';
import { createStream } from '../../src/acl/stream.js';
import { DEVICE_OPTIONS, deviceFromArgs } from '../device.js';
import { adapterName, adapterRecord } from '../core.js';
import { CONFIG, generate } from './generate.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '16' }, ...DEVICE_OPTIONS } });
  const { adapter, device } = await deviceFromArgs(values);
  const stream = createStream(device);
  const prompts = [
    Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % CONFIG.vocab),
    Array.from({ length: 23 }, (_, i) => (i * 5 + 1) % CONFIG.vocab),
  ];
  // Checked: the first step, the first generated position of each sequence, and a step that opens a new block.
  const r = await generate(stream, prompts, Number(values.steps), { checkSteps: [0, 22, 32, 39, 40], trace: process.env.DEMO_TRACE ? (w) => console.error(`${performance.now().toFixed(0)} ms: ${w}`) : undefined });
  console.log(`adapter: ${adapterName(adapterRecord(adapter, device))}`);
  console.log(`model: ${JSON.stringify(CONFIG)}; prompts of ${prompts.map((p) => p.length).join(' and ')} tokens`);
  r.tokens.forEach((t, b) => console.log(`sequence ${b}: ${t.join(' ')}`));
  for (const c of r.checks) console.log(`check step ${c.step} layer ${c.layer}: ${c.ok ? 'ok' : 'FAILED'} (out ${c.out}; lse ${c.lse})`);
  console.log(`prompts consumed in ${r.promptMs.toFixed(1)} ms; ${r.timedSteps} timed steps (one token of each of ${prompts.length} sequences, ${CONFIG.layers} layers): host ${r.hostMsPerToken.toFixed(2)} ms/step, GPU (submit to readback) ${r.gpuMsPerToken.toFixed(2)} ms/step, ${r.tokensPerSecond.toFixed(1)} tokens/s`);
  if (r.checks.some((c) => !c.ok)) process.exitCode = 1;
  device.destroy();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exitCode = 1;
});
