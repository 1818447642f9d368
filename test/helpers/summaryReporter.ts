// Prints plain closing lines after vitest's own summary, so CI logs state the counts in a
// runner-neutral form: one line per project (the device configurations, scripts/adapters.mjs),
// then the total `N passed, N failed, N skipped`.
import type { Reporter, TestModule } from 'vitest/node';

interface Counts { passed: number; failed: number; skipped: number; files: number }

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = []): void {
    const total: Counts = { passed: 0, failed: 0, skipped: 0, files: 0 };
    const perProject = new Map<string, Counts>();
    for (const m of testModules) {
      const name = m.project.name || 'default';
      let c = perProject.get(name);
      if (!c) perProject.set(name, (c = { passed: 0, failed: 0, skipped: 0, files: 0 }));
      c.files++;
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) c.failed++; // a file that failed to load
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') c.passed++;
        else if (state === 'failed' || m.state() !== 'passed' && m.state() !== 'skipped') c.failed++; // its file crashed
        else c.skipped++;
      }
    }
    const lines: string[] = [];
    for (const [name, c] of perProject) {
      lines.push(`  ${name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped (${c.files} files)`);
      total.passed += c.passed; total.failed += c.failed; total.skipped += c.skipped;
    }
    total.failed += unhandledErrors.length; // e.g. a worker that exited unexpectedly
    process.stdout.write(`\n${lines.join('\n')}\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
  }
}
