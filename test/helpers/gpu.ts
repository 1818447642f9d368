// One GPU stream per test file, on the device configuration of the vitest project (FIA_ADAPTER /
// FIA_LIMITS: scripts/adapters.mjs). CI has the software adapters, so a missing adapter is a
// failure with the install hint, never a skip (STYLE §8).
import { createStream, type Stream } from '../../src/acl/stream.js';
import { requestDevice } from '../../src/node.js';

let streamPromise: Promise<Stream> | null = null;

export function testStream(): Promise<Stream> {
  streamPromise ??= requestDevice().then((d) => createStream(d));
  return streamPromise;
}

/** The file's test stream if a test asked for one (shaderAudit reads its compiler messages). */
export function createdTestStream(): Promise<Stream> | null {
  return streamPromise;
}
