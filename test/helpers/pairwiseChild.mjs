// The isolated case runner's child process (see CaseRunner in pairwise.ts): loads the TypeScript
// case code through Vite's module runner, then answers { id, request } messages with
// { id, result } (result: '' or the failure line) or { id, error }. A case that never returns
// (a shader compile or dispatch that hangs blocks this process's event loop) is killed by the parent.
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const entry = fileURLToPath(new URL('./pairwiseCases.ts', import.meta.url));
const { module } = await runnerImport(entry, { configFile: false, logLevel: 'silent' });

process.on('message', (msg) => {
  module.runRow(msg.request).then(
    (result) => process.send({ id: msg.id, result }),
    (e) => process.send({ id: msg.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
process.send({ ready: true });
