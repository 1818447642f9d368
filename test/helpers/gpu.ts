// One GPU stream per test file. CI has the software adapter, so a missing adapter is a failure
// with the install hint, never a skip (STYLE §8).
import { createStream, type Stream } from '../../src/acl/stream.js';
import { requestDevice } from '../../src/node.js';

let streamPromise: Promise<Stream> | null = null;

export function testStream(): Promise<Stream> {
  streamPromise ??= requestDevice().then((d) => createStream(d));
  return streamPromise;
}
