import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The benchmark page (index.html) is served from the project root.
  server: { host: '127.0.0.1' },
  build: { outDir: 'dist/page', emptyOutDir: true, target: 'es2022' },
  test: {
    include: ['test/**/*.test.ts'],
    // GPU suites share SwiftShader, which already uses both cores: run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
