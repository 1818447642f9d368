// The documentation stays true without a GPU: every relative link in README.md and docs/ resolves
// inside the repository (files and heading anchors), no machine path is committed, docs/api.md is
// what `npm run docs:api` generates today, and the error messages the README quotes are the ones
// validation produces.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { paddedByteLength, type DataType } from '../src/codec/dtype.js';
import { aclCreateTensor, aclCreateTensorList, numel, type Tensor } from '../src/acl/tensor.js';
import { INT_MAX, type FiaInputs } from '../src/problem/problem.js';
import { validate } from '../src/fia/validate.js';

const ROOT = resolve(import.meta.dirname, '..');
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
const MARKDOWN = tracked.filter((f) => f === 'README.md' || f === 'CHANGELOG.md' || (f.endsWith('.md') && /^(docs|bench\/peers)\//.test(f)));

/** Targets another change adds to docs/ (linked from the index here); checked like any other once present. */
const ADDED_ELSEWHERE = new Set(['docs/numerics.md']);

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to '-'. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let inCode = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const m = !inCode && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) out.add(m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));
  }
  return out;
}

/** [text](target) links outside code blocks and inline code. */
function links(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe('documentation links', () => {
  it('finds the markdown files it checks', () => {
    expect(MARKDOWN).toEqual(expect.arrayContaining(['README.md', 'docs/README.md', 'docs/semantics.md', 'docs/validation.md',
      'docs/guides/paged-kv.md', 'docs/guides/antiquant.md', 'docs/guides/int8.md', 'docs/guides/merge-lse.md', 'docs/api.md']));
  });

  for (const file of MARKDOWN) {
    it(`every relative link in ${file} resolves inside the repository`, () => {
      const bad: string[] = [];
      for (const link of links(readFileSync(join(ROOT, file), 'utf8'))) {
        if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), path);
        const rel = relative(ROOT, target);
        if (rel.startsWith('..')) { bad.push(`${link}: outside the repository`); continue; }
        if (!existsSync(target)) {
          if (!ADDED_ELSEWHERE.has(rel)) bad.push(`${link}: ${rel} does not exist`);
          continue;
        }
        if (!tracked.some((f) => f === rel || f.startsWith(`${rel}/`))) { bad.push(`${link}: ${rel} is not committed`); continue; }
        if (anchor && statSync(target).isFile() && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(anchor)) {
          bad.push(`${link}: no heading #${anchor} in ${rel}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }

  it('the link checker itself rejects a missing file, an outside path and a missing anchor', () => {
    expect(links('see [a](docs/nope.md) and `[b](x.md)` and [c](../outside/x.md)')).toEqual(['docs/nope.md', '../outside/x.md']);
    expect(anchors('# 9. Paged KV (blockTable given)\n```\n# not a heading\n```').has('9-paged-kv-blocktable-given')).toBe(true);
    expect(anchors('```\n# not a heading\n```').size).toBe(0);
  });
});

describe('no machine paths in the repository', () => {
  it('no committed file names a path of a particular machine', () => {
    const patterns = ['/wo' + 'rk/', '/home/run' + 'ner', '../sha' + 'red', '/tmp/pe' + 'ers'];
    const hits: string[] = [];
    for (const f of tracked) {
      if (!existsSync(join(ROOT, f)) || statSync(join(ROOT, f)).size > 2_000_000) continue;
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const p of patterns) if (text.includes(p)) hits.push(`${f}: ${p}`);
    }
    expect(hits).toEqual([]);
  });
});

describe('API reference', () => {
  it('docs/api.md is what npm run docs:api generates from the current sources', async () => {
    const { apiMarkdown } = await import('../scripts/api-docs.mjs' as string) as { apiMarkdown: () => string };
    const generated = apiMarkdown();
    for (const name of ['fusedInferAttentionScore', 'requestWebGpuDevice', 'requestDevice', 'attentionReference', 'mergeAttentionStates']) {
      expect(generated).toContain(`### ${name}\n`);
    }
    expect(readFileSync(join(ROOT, 'docs/api.md'), 'utf8'), 'docs/api.md is stale: run npm run docs:api').toBe(generated);
  }, 60_000);
});

describe('messages the README quotes', () => {
  const none = () => undefined;
  const buf = (size: number) =>
    ({ size, usage: 0x80 | 0x08 | 0x04, destroy: none, mapAsync: none, getMappedRange: none, unmap: none }) as unknown as GPUBuffer;
  const T = (shape: number[], dtype: DataType = 'FLOAT16'): Tensor => aclCreateTensor(shape, dtype, buf(Math.max(4, paddedByteLength(dtype, numel(shape)))));
  const inputs = (q: number[], kv: number[], N: number, KV_N: number): FiaInputs => ({
    query: T(q), key: aclCreateTensorList([T(kv)]), value: aclCreateTensorList([T(kv)]),
    numHeads: N, scaleValue: 1, preTokens: INT_MAX, nextTokens: INT_MAX, inputLayout: 'BNSD', numKeyValueHeads: KV_N,
    sparseMode: 0, innerPrecise: 0, blockSize: 0, antiquantMode: 0, softmaxLseFlag: false, keyAntiquantMode: 0,
    valueAntiquantMode: 0, attentionOut: T(q), softmaxLse: null,
  });
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const cases: [string, FiaInputs][] = [
    ['numKeyValueHeads=6: numHeads 32 is not a multiple', inputs([1, 32, 1, 64], [1, 6, 4, 64], 32, 6)],
    ['query.shape=[1,2,4,8]: head dim 8 is not a multiple of 16 (Q_S > 1)', inputs([1, 2, 4, 8], [1, 2, 4, 8], 2, 0)],
  ];
  for (const [message, x] of cases) {
    it(`"${message}" is quoted and is what validation says`, () => {
      expect(readme).toContain(`\`${message}\``);
      let caught: unknown = null;
      try { validate(x); } catch (e) { caught = e; }
      expect((caught as { status?: number })?.status).toBe(161002);
      expect((caught as Error).message).toBe(message);
    });
  }
});
