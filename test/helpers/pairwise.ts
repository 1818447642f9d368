// Seeded all-pairs (covering array) generation over feature factors, with constraints.
//
// A factor is a named list of values. `allPairs` returns rows (one value per factor) such that every
// pair of values of two different factors that the constraints allow appears in at least one row,
// and no row breaks a constraint. A constraint reads a few factors and applies once all of them are
// assigned, so the same predicate prunes partial rows and checks pairs. Greedy (AETG-style): each
// row starts from an uncovered pair and fills the other factors with the value that covers the most
// uncovered pairs, ties broken by the seeded generator; a pair that no valid row can hold is
// reported in `infeasible` (the constraint model, not the generator, excludes it).
import { type ChildProcess, fork } from 'node:child_process';
import { mulberry32 } from '../../src/reference/random.js';

export type Value = string | number | boolean;
export type Row = Record<string, Value>;

export interface Factor {
  name: string;
  values: readonly Value[];
}

export interface Constraint {
  /** Why the operator (or the port) refuses the combination: the rule it breaks. */
  why: string;
  /** Factors read; the rule applies once all are assigned. */
  reads: readonly string[];
  /** True when the (partial) row breaks the rule. */
  breaks: (r: Row) => boolean;
}

export interface PairwiseResult {
  rows: Row[];
  /** Pairs allowed pair-by-pair that no complete valid row can hold. */
  infeasible: string[];
  /** Number of pairs covered. */
  pairs: number;
}

/** The first constraint `r` breaks (among those whose factors are all assigned), else null. */
export function brokenRule(constraints: readonly Constraint[], r: Row): Constraint | null {
  for (const c of constraints) {
    if (c.reads.every((f) => f in r) && c.breaks(r)) return c;
  }
  return null;
}

/** Candidate rows built per generated row (AETG); the best is kept. */
const CANDIDATES = 24;

const pairKey = (fa: string, va: Value, fb: string, vb: Value): string => `${fa}=${String(va)}&${fb}=${String(vb)}`;

/** Every pair of values of two different factors, as (i, a, j, b) with i < j, in factor order. */
function allPairsOf(factors: readonly Factor[]): [number, Value, number, Value][] {
  const out: [number, Value, number, Value][] = [];
  for (let i = 0; i < factors.length; i++) {
    for (let j = i + 1; j < factors.length; j++) {
      for (const a of factors[i]!.values) for (const b of factors[j]!.values) out.push([i, a, j, b]);
    }
  }
  return out;
}

/**
 * A seeded covering array of strength 2 over `factors` under `constraints`. Deterministic for a
 * given seed, factor list and constraint list.
 */
export function allPairs(factors: readonly Factor[], constraints: readonly Constraint[], seed: number): PairwiseResult {
  const rand = mulberry32(seed);
  const names = factors.map((f) => f.name);
  const uncovered = new Map<string, [number, Value, number, Value]>();
  for (const p of allPairsOf(factors)) {
    const [i, a, j, b] = p;
    const r: Row = { [names[i]!]: a, [names[j]!]: b };
    if (!brokenRule(constraints, r)) uncovered.set(pairKey(names[i]!, a, names[j]!, b), p);
  }
  const pairs = uncovered.size;
  const rows: Row[] = [];
  const infeasible: string[] = [];
  const gain = (r: Row, i: number, v: Value): number => {
    let n = 0;
    for (let j = 0; j < factors.length; j++) {
      if (j === i || !(names[j]! in r)) continue;
      const key = i < j ? pairKey(names[i]!, v, names[j]!, r[names[j]!]!) : pairKey(names[j]!, r[names[j]!]!, names[i]!, v);
      if (uncovered.has(key)) n++;
    }
    return n;
  };
  /** Completes `start` by greedy choice; null when some factor has no allowed value (dead end). */
  const complete = (start: Row, order: number[]): Row | null => {
    const r: Row = { ...start };
    for (const i of order) {
      if (names[i]! in r) continue;
      let best: Value[] = [];
      let bestGain = -1;
      for (const v of factors[i]!.values) {
        const trial = { ...r, [names[i]!]: v };
        if (brokenRule(constraints, trial)) continue;
        const g = gain(r, i, v);
        if (g > bestGain) { best = [v]; bestGain = g; } else if (g === bestGain) best.push(v);
      }
      if (best.length === 0) return null;
      r[names[i]!] = best[Math.floor(rand() * best.length)]!;
    }
    return r;
  };
  const shuffled = (): number[] => {
    const idx = factors.map((_, i) => i);
    for (let k = idx.length - 1; k > 0; k--) {
      const m = Math.floor(rand() * (k + 1));
      [idx[k], idx[m]] = [idx[m]!, idx[k]!];
    }
    return idx;
  };
  const newPairs = (row: Row): number => {
    let n = 0;
    for (let x = 0; x < factors.length; x++) {
      for (let y = x + 1; y < factors.length; y++) {
        if (uncovered.has(pairKey(names[x]!, row[names[x]!]!, names[y]!, row[names[y]!]!))) n++;
      }
    }
    return n;
  };
  while (uncovered.size > 0) {
    // Candidates: the first uncovered pair (progress), then pairs drawn at random; keep the row
    // covering the most uncovered pairs.
    const keys = [...uncovered.keys()];
    let best: Row | null = null;
    let bestNew = -1;
    for (let cand = 0; cand < CANDIDATES; cand++) {
      const key = cand === 0 ? keys[0]! : keys[Math.floor(rand() * keys.length)]!;
      const [i, a, j, b] = uncovered.get(key)!;
      let row: Row | null = null;
      for (let attempt = 0; attempt < 50 && !row; attempt++) {
        // The first attempt fills factors in their order; later ones shuffle it.
        const order = attempt === 0 ? factors.map((_, k) => k) : shuffled();
        row = complete({ [names[i]!]: a, [names[j]!]: b }, order);
      }
      if (!row) {
        if (cand === 0) { uncovered.delete(key); infeasible.push(key); }
        continue;
      }
      const n = newPairs(row);
      if (n > bestNew) { best = row; bestNew = n; }
    }
    if (!best || bestNew <= 0) continue;
    for (let x = 0; x < factors.length; x++) {
      for (let y = x + 1; y < factors.length; y++) uncovered.delete(pairKey(names[x]!, best[names[x]!]!, names[y]!, best[names[y]!]!));
    }
    rows.push(best);
  }
  return { rows, infeasible, pairs };
}

/** The pairs of `rows` (for asserting coverage). */
export function coveredPairs(factors: readonly Factor[], rows: readonly Row[]): Set<string> {
  const out = new Set<string>();
  for (const r of rows) {
    for (let i = 0; i < factors.length; i++) {
      for (let j = i + 1; j < factors.length; j++) {
        const fa = factors[i]!.name;
        const fb = factors[j]!.name;
        out.add(pairKey(fa, r[fa]!, fb, r[fb]!));
      }
    }
  }
  return out;
}

/** Every pair the constraints allow pair-by-pair (what the rows must cover, less `infeasible`). */
export function allowedPairs(factors: readonly Factor[], constraints: readonly Constraint[]): string[] {
  return allPairsOf(factors).filter(([i, a, j, b]) => !brokenRule(constraints, { [factors[i]!.name]: a, [factors[j]!.name]: b }))
    .map(([i, a, j, b]) => pairKey(factors[i]!.name, a, factors[j]!.name, b));
}

/**
 * Runs cases in a child process (pairwiseChild.mjs) under a watchdog: a case that does not answer
 * within its bound fails, and its process is killed (a hung shader compile or dispatch blocks the
 * whole event loop of the process it runs in, so an in-process timer could never fire); the next
 * case starts a fresh process. Requests and answers are plain JSON.
 */
export class CaseRunner {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();

  constructor(private readonly script: string, private readonly startupMs = 120_000) {}

  private start(): Promise<void> {
    const child = fork(this.script, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('case runner did not start')); this.kill(); }, this.startupMs);
      child.on('message', (m: { ready?: boolean; id?: number; result?: string; error?: string }) => {
        if (m.ready) { clearTimeout(timer); resolve(); return; }
        const p = this.pending.get(m.id!);
        if (!p) return;
        this.pending.delete(m.id!);
        if (m.error !== undefined) p.reject(new Error(m.error)); else p.resolve(m.result!);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const err = new Error(`case runner exited (${code ?? signal}): ${stderr.slice(-600)}`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (this.child === child) { this.child = null; this.ready = null; }
      });
    });
    this.ready = ready;
    return ready;
  }

  /** The child's answer to `request` ('' or a failure line); rejects after `ms` (and kills the child). */
  async run(request: unknown, ms: number, what: string): Promise<string> {
    await (this.ready ?? this.start()); // process startup is not charged to the case
    const child = this.child!;
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.kill();
        reject(new Error(`watchdog: ${what} did not finish within ${ms / 1000} s (its process was killed)`));
      }, ms);
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      child.send({ id, request });
    });
  }

  kill(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
    this.ready = null;
  }
}
