// Pipeline compilation: ahead of time (preparePipelines, FiaExecutor.prepare) and the compiler
// messages the shader audit (test/helpers/shaderAudit.ts) reads.
import { describe, expect, it } from 'vitest';
import { createStream } from '../src/acl/stream.js';
import { getPipeline, pipelineCompileCounts, preparePipelines, shaderCompilerMessages } from '../src/kernels/shader.js';
import { requestDevice } from '../src/node.js';

const KERNEL = (body: string) => `@group(0) @binding(0) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(1) fn main() { ${body} }`;

describe('pipelines', () => {
  it('the audit sees a compiler warning (so a clean audit means something)', async () => {
    const device = await requestDevice();
    // Unreachable code after a return is a WGSL warning.
    getPipeline(device, 'audit.warn', () => ({ code: KERNEL('o[0] = 1u; return; o[0] = 2u;'), label: 'audit.warn' }));
    const messages = await shaderCompilerMessages(device);
    expect(messages.some((m) => m.type === 'warning' && m.label === 'audit.warn'), JSON.stringify(messages)).toBe(true);
    device.destroy();
  });

  it('preparePipelines compiles ahead; a later getPipeline compiles nothing', async () => {
    const { device } = createStream(await requestDevice());
    const source = { key: 'prep.a', build: () => ({ code: KERNEL('o[0] = 7u;'), label: 'prep.a' }) };
    await preparePipelines(device, [source, source]);
    expect(pipelineCompileCounts(device)).toEqual({ sync: 0, async: 1, warmed: 1 });
    getPipeline(device, source.key, () => { throw new Error('must not build again'); });
    expect(pipelineCompileCounts(device)).toEqual({ sync: 0, async: 1, warmed: 1 });
    device.destroy();
  });

  it('preparePipelines rejects with the compiler error of a bad shader', async () => {
    const device = await requestDevice();
    const bad = { key: 'prep.bad', build: () => ({ code: KERNEL('o[0] = undefinedName;'), label: 'prep.bad' }) };
    await expect(preparePipelines(device, [bad])).rejects.toThrow();
    device.destroy();
  });
});
