import { execFileSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';
// @ts-expect-error a plain .mjs dev script without type declarations
import { testConfigurations } from './scripts/adapters.mjs';

/** The commit the benchmark page records in its JSON (bench/page.ts reads __BENCH_COMMIT__). */
function commitId(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const CONFIGS: { name: string; env: Record<string, string>; exclude?: string[] }[] = testConfigurations();
// `.host.test.ts`: no GPU. The page and package tests open their own (browser) adapters.
const ONCE_FILES = ['test/*.host.test.ts', 'test/bench.page.test.ts', 'test/package.install.test.ts'];

export default defineConfig({
  // The benchmark page (index.html) is served from the project root.
  server: { host: '127.0.0.1' },
  build: { outDir: 'dist/page', emptyOutDir: true, target: 'es2022' },
  define: { __BENCH_COMMIT__: JSON.stringify(commitId()) },
  test: {
    reporters: ['default', './test/helpers/summaryReporter.ts'],
    // GPU suites share a software adapter, which already uses both cores: one file at a time.
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      // Files that do not depend on the Node device configuration: the host layer, the reference,
      // the docs' examples, the package and browser tests (their own adapters).
      { extends: true, test: { name: 'once', include: ONCE_FILES, env: { FIA_ADAPTER: 'swiftshader', FIA_LIMITS: 'adapter' } } },
      // Every other (GPU) file, once per device configuration present (scripts/adapters.mjs).
      ...CONFIGS.map((c) => ({
        extends: true,
        test: { name: c.name, include: ['test/**/*.test.ts'], exclude: [...ONCE_FILES, ...(c.exclude ?? [])], env: c.env, setupFiles: ['test/helpers/shaderAudit.ts'] },
      })),
    ],
  },
});
