// Setup file of the GPU projects (vite.config.ts): after each test file, every shader module the
// file's test stream compiled must be free of compiler warnings and errors on this configuration.
import { afterAll, expect } from 'vitest';
import { shaderCompilerMessages } from '../../src/kernels/shader.js';
import { createdTestStream } from './gpu.js';

afterAll(async () => {
  const stream = await createdTestStream()?.catch(() => null);
  if (!stream) return;
  const messages = (await shaderCompilerMessages(stream.device)).filter((m) => m.type !== 'info');
  expect(messages, 'WGSL compiler warnings or errors').toEqual([]);
});
