// A watchdog for GPU tests that could hang: the test fails after `ms` instead of stalling the
// suite. Two layers, because a hang can take two forms on a software adapter:
// - an asynchronous one (a submission that never completes, a promise that never settles):
//   Promise.race rejects with the label;
// - a synchronous one (a shader compile that never returns blocks the JS thread, so no timer
//   can fire): a worker thread, which keeps running, writes the label to stderr and kills the
//   test process after a grace period; vitest then fails the file instead of waiting forever.
import { Worker } from 'node:worker_threads';

const WORKER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
setTimeout(() => {
  writeSync(2, 'watchdog: ' + workerData.label + ' still running after ' + workerData.ms + ' ms (thread blocked); killing the test process\\n');
  process.kill(workerData.pid, 'SIGKILL');
}, workerData.ms);
`;

export async function withWatchdog<T>(label: string, ms: number, run: () => Promise<T>): Promise<T> {
  const guard = new Worker(WORKER, { eval: true, workerData: { label, ms: ms + 15_000, pid: process.pid } });
  guard.unref();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watchdog: ${label} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
    await guard.terminate();
  }
}
