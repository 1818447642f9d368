// Where the software Vulkan drivers the tests run on live, for the dev scripts (setup.mjs,
// vite.config.ts). The library's own lookup, with the XDG search path, is in src/node.ts.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian (and a few other distributions) ship SwiftShader's Vulkan driver manifest. */
export const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

/** The Vulkan loader's system driver folders. */
export const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'];

export const swiftshaderIcd = () => SWIFTSHADER_ICDS.find((p) => existsSync(p)) ?? null;

/** lavapipe's manifest (lvp_icd.json, lvp_icd.x86_64.json, ...) or null. */
export function lavapipeIcd() {
  for (const dir of ICD_DIRS) {
    try {
      const f = readdirSync(dir).find((name) => /^lvp_icd(\.[\w-]+)?\.json$/.test(name));
      if (f) return join(dir, f);
    } catch {
      // no such folder
    }
  }
  return null;
}

/**
 * The GPU test files the lavapipe project leaves out by default, each because of lavapipe's
 * compile time (LLVM, cold: about 7-13 s per prefill pipeline) against the suite's 20-minute
 * budget; FIA_LAVAPIPE_ALL=1 runs them too. Every other GPU file runs there.
 */
export const LAVAPIPE_SKIPPED = [
  // ~60 prefill pipelines: about 5 minutes on lavapipe.
  'test/kernel.prefill.test.ts',
  // a seeded prefill matrix: one new pipeline per case.
  'test/kernel.prefillRandom.test.ts',
  // 110 all-pairs cases, each compiling its own pipelines in a child process.
  'test/kernel.pairwise.test.ts',
];

/**
 * The device configurations the GPU test files run on (each a vitest project): SwiftShader with the
 * adapter's limits, SwiftShader with WebGPU's default limits, and lavapipe when it is installed.
 * FIA_TEST_CONFIGS (comma list of names) narrows the list.
 */
export function testConfigurations(env = process.env) {
  const all = [
    { name: 'swiftshader', env: { FIA_ADAPTER: 'swiftshader', FIA_LIMITS: 'adapter' }, present: !!swiftshaderIcd() },
    { name: 'swiftshader-default-limits', env: { FIA_ADAPTER: 'swiftshader', FIA_LIMITS: 'default' }, present: !!swiftshaderIcd() },
    {
      name: 'lavapipe', env: { FIA_ADAPTER: 'lavapipe', FIA_LIMITS: 'adapter' }, present: !!lavapipeIcd(),
      exclude: env.FIA_LAVAPIPE_ALL === '1' ? [] : LAVAPIPE_SKIPPED,
    },
  ];
  const wanted = env.FIA_TEST_CONFIGS ? env.FIA_TEST_CONFIGS.split(',').map((s) => s.trim()).filter(Boolean) : null;
  if (wanted) {
    const unknown = wanted.filter((w) => !all.some((c) => c.name === w));
    if (unknown.length > 0) throw new Error(`FIA_TEST_CONFIGS: unknown ${unknown.join(', ')} (known: ${all.map((c) => c.name).join(', ')})`);
  }
  return all.filter((c) => c.present && (!wanted || wanted.includes(c.name)));
}
