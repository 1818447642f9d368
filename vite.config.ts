import { execFileSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';

/** The commit the benchmark page records in its JSON (bench/page.ts reads __BENCH_COMMIT__). */
function commitId(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export default defineConfig({
  // The benchmark page (index.html) is served from the project root.
  server: { host: '127.0.0.1' },
  build: { outDir: 'dist/page', emptyOutDir: true, target: 'es2022' },
  define: { __BENCH_COMMIT__: JSON.stringify(commitId()) },
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/helpers/summaryReporter.ts'],
    // GPU suites share SwiftShader, which already uses both cores: run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
