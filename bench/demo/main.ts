// `npm run demo`: the generation demo (bench/demo/generate.ts) in Node, on Dawn's adapter
// (SwiftShader when there is no GPU). Prints the tokens, the prefill time, the per-token host and
// GPU time, tokens/s and the checks of the prefill and of chosen decode steps against the float64
// reference.
import { parseArgs } from 'node:util';
import { createStream } from '../../src/acl/stream.js';
import { DEVICE_OPTIONS, deviceFromArgs } from '../device.js';
import { adapterName, adapterRecord } from '../core.js';
import { CONFIG, DEMO_PROMPTS, demoCheckSteps, formatCheck, formatTimings, formatTokens, generate } from './generate.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '16' }, ...DEVICE_OPTIONS } });
  const { adapter, device } = await deviceFromArgs(values);
  const stream = createStream(device);
  const steps = Number(values.steps);
  const r = await generate(stream, DEMO_PROMPTS, steps, {
    checkSteps: demoCheckSteps(steps),
    trace: process.env.DEMO_TRACE ? (w) => console.error(`${performance.now().toFixed(0)} ms: ${w}`) : undefined,
  });
  console.log(`adapter: ${adapterName(adapterRecord(adapter, device))}`);
  console.log(`model: ${JSON.stringify(CONFIG)}`);
  for (const line of [...formatTokens(DEMO_PROMPTS, r), ...r.checks.map(formatCheck), ...formatTimings(DEMO_PROMPTS, r)]) console.log(line);
  if (r.checks.some((c) => !c.ok)) process.exitCode = 1;
  device.destroy();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exitCode = 1;
});
