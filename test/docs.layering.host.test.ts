// The import graph of src/ is layered (docs/design.md, "Layers and dtypes"): a module imports
// modules of its own unit (directory, or root file) or of a lower layer, never a higher one nor a
// sibling unit of its own layer, and no chain of imports comes back to where it started.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The layers, lowest first; each names its units: a directory of src/ or a file at its root. */
const LAYERS: readonly (readonly string[])[] = [
  ['codec'], // scalar conversions and the dtype table (src/codec/dtype.ts)
  ['acl'], // the CANN host surface: tensors, streams, statuses, adapters
  ['problem'], // what the operator is asked: FiaInputs, the parameter table, layouts, Problem
  ['kernels', 'reference'], // the WGSL kernels and their host side; the float64 CPU reference
  ['fia'], // the operator: checks, planning, execution, the public API
  ['index.ts', 'node.ts'], // the package's entry points
];

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Module (path relative to src/, .ts) → the src/ modules it imports. */
type Graph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Static `import … from` / `export … from` / side-effect imports (type-only ones count too). */
const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const targets = [...readFileSync(file, 'utf8').matchAll(IMPORT)]
      .map((m) => (m[1] ?? m[2])!)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

const unitOf = (module: string): string => module.split('/')[0]!;
const layerOf = (unit: string): number => LAYERS.findIndex((units) => units.includes(unit));

/** Every import that is upward, sideways (sibling unit of the same layer) or into an unplaced unit. */
function layerViolations(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const fromUnit = unitOf(from);
    if (layerOf(fromUnit) < 0) out.push(`${from}: unit ${fromUnit} is in no layer`);
    for (const to of targets) {
      const toUnit = unitOf(to);
      if (toUnit !== fromUnit && !(layerOf(toUnit) >= 0 && layerOf(toUnit) < layerOf(fromUnit))) out.push(`${from} → ${to}`);
    }
  }
  return out;
}

/** One import cycle (a → … → a), or null. */
function findCycle(graph: Graph): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (m: string): string[] | null => {
    if (state.get(m) === 'done') return null;
    if (state.get(m) === 'open') return [...path.slice(path.indexOf(m)), m];
    state.set(m, 'open');
    path.push(m);
    for (const next of graph.get(m) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(m, 'done');
    return null;
  };
  for (const m of graph.keys()) {
    const cycle = visit(m);
    if (cycle) return cycle;
  }
  return null;
}

describe('src/ import layering', () => {
  it('the checks catch an upward import, a sibling import, an unplaced unit and a cycle', () => {
    const bad: Graph = new Map([
      ['acl/tensor.ts', ['codec/index.ts', 'problem/problem.ts']],
      ['kernels/decode.ts', ['reference/index.ts']],
      ['extra/x.ts', []],
      ['fia/a.ts', ['fia/b.ts']],
      ['fia/b.ts', ['fia/a.ts']],
    ]);
    expect(layerViolations(bad)).toEqual([
      'acl/tensor.ts → problem/problem.ts',
      'kernels/decode.ts → reference/index.ts',
      'extra/x.ts: unit extra is in no layer',
    ]);
    expect(findCycle(bad)).toEqual(['fia/a.ts', 'fia/b.ts', 'fia/a.ts']);
  });

  const graph = importGraph();

  it('reads the imports of every module', () => {
    const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
    expect(graph.size).toBeGreaterThan(40);
    expect(edges).toBeGreaterThan(100);
    // Multi-line and type-only imports are read too.
    expect(graph.get('kernels/decode.ts')).toContain('kernels/shader.ts');
    expect(graph.get('fia/api.ts')).toContain('problem/problem.ts');
    for (const targets of graph.values()) for (const t of targets) expect(graph.has(t), t).toBe(true);
  });

  it('no module imports upward or sideways', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('no import cycle', () => {
    expect(findCycle(graph)).toBeNull();
  });
});
