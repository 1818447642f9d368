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
 * The GPU test files a configuration leaves out by default, each for the suite's 20-minute budget
 * on 2 cores; FIA_TEST_ALL=1 runs every file on every configuration. Every other GPU file runs
 * everywhere.
 * - lavapipe: the blocked prefill matrices (LLVM, cold: seconds per blocked prefill pipeline; the
 *   quick tier's matrix, kernel.prefillQuick, runs there and covers the shared frame) and the
 *   all-pairs matrix (110 child processes compiling their own pipelines).
 * - swiftshader-default-limits: the all-pairs matrix (over 2 minutes; it runs with the adapter's
 *   limits, and the limit-driven plans and rejections have their own file, kernel.limits).
 */
export const SKIPPED = {
  lavapipe: ['test/kernel.prefill.test.ts', 'test/kernel.prefillRandom.test.ts', 'test/kernel.pairwise.test.ts'],
  'swiftshader-default-limits': ['test/kernel.pairwise.test.ts'],
};

/**
 * The device configurations the GPU test files run on (each a vitest project): SwiftShader with the
 * adapter's limits, SwiftShader with WebGPU's default limits, and lavapipe when it is installed.
 * FIA_TEST_CONFIGS (comma list of names) narrows the list.
 */
export function testConfigurations(env = process.env) {
  const all = [
    { name: 'swiftshader', env: { FIA_ADAPTER: 'swiftshader', FIA_LIMITS: 'adapter' }, present: !!swiftshaderIcd() },
    { name: 'swiftshader-default-limits', env: { FIA_ADAPTER: 'swiftshader', FIA_LIMITS: 'default' }, present: !!swiftshaderIcd() },
    { name: 'lavapipe', env: { FIA_ADAPTER: 'lavapipe', FIA_LIMITS: 'adapter' }, present: !!lavapipeIcd() },
  ].map((c) => ({ ...c, exclude: env.FIA_TEST_ALL === '1' ? [] : SKIPPED[c.name] ?? [] }));
  const wanted = env.FIA_TEST_CONFIGS ? env.FIA_TEST_CONFIGS.split(',').map((s) => s.trim()).filter(Boolean) : null;
  if (wanted) {
    const unknown = wanted.filter((w) => !all.some((c) => c.name === w));
    if (unknown.length > 0) throw new Error(`FIA_TEST_CONFIGS: unknown ${unknown.join(', ')} (known: ${all.map((c) => c.name).join(', ')})`);
  }
  return all.filter((c) => c.present && (!wanted || wanted.includes(c.name)));
}
