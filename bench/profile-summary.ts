/**
 * Prints where a V8 CPU profile spent its time: self time per function, largest first. Used to
 * explain a missed target (docs/PERFORMANCE.md quotes its output).
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/analysis.ts --analyze <file>
 *   npx tsx bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile [top] [--by-file | --inclusive]
 */
import { readFileSync } from 'node:fs';
import { isEntryPoint } from './support/child.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  function: string;
  where: string;
  selfMs: number;
  percent: number;
}

/** Self time grouped by file (src/..., node_modules/<package>, node internals), largest first. */
export function summarizeByFile(profile: CpuProfile, top = 25): ProfileLine[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    total += delta;
    const url = byId.get(id)?.callFrame.url ?? '';
    const file = url === '' ? `(${byId.get(id)?.callFrame.functionName || 'native'})` : url.replace(/^.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, 'node_modules/$1').replace(/^.*\/(src|bench|test)\//, '$1/');
    self.set(file, (self.get(file) ?? 0) + delta);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([file, micros]) => ({ function: '', where: file, selfMs: Math.round(micros / 1000), percent: Math.round((micros / total) * 1000) / 10 }));
}

/**
 * Inclusive (self + synchronous callees) time per function, counted once per stack even when the
 * function recurses: what a call costs before it awaits.
 */
export function summarizeInclusive(profile: CpuProfile, top = 25): ProfileLine[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, { fn: string; where: string; micros: number }>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    total += delta;
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const node = byId.get(current);
      if (!node || !node.callFrame.url) continue;
      const fn = node.callFrame.functionName || '(anonymous)';
      const where = node.callFrame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/');
      const key = `${fn}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusive.get(key) ?? { fn, where, micros: 0 };
      entry.micros += delta;
      inclusive.set(key, entry);
    }
  });
  return [...inclusive.values()]
    .sort((a, b) => b.micros - a.micros)
    .slice(0, top)
    .map((entry) => ({ function: entry.fn, where: entry.where, selfMs: Math.round(entry.micros / 1000), percent: Math.round((entry.micros / total) * 1000) / 10 }));
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileLine[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, { fn: string; where: string; micros: number }>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[index] ?? 0;
    total += delta;
    if (!node) return;
    const where = `${node.callFrame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;
    const fn = node.callFrame.functionName || '(anonymous)';
    const key = `${fn}@${where}`;
    const entry = self.get(key) ?? { fn, where, micros: 0 };
    entry.micros += delta;
    self.set(key, entry);
  });
  return [...self.values()]
    .sort((a, b) => b.micros - a.micros)
    .slice(0, top)
    .map((entry) => ({ function: entry.fn, where: entry.where, selfMs: Math.round(entry.micros / 1000), percent: Math.round((entry.micros / total) * 1000) / 10 }));
}

if (isEntryPoint(import.meta.url)) {
  const mode = process.argv.includes('--by-file') ? summarizeByFile : process.argv.includes('--inclusive') ? summarizeInclusive : summarizeProfile;
  const [path, top] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  if (!path) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top] [--by-file | --inclusive]');
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  for (const line of mode(profile, Number(top ?? 25))) {
    console.log(`${String(line.percent).padStart(5)}%  ${String(line.selfMs).padStart(6)} ms  ${line.function}  ${line.where}`);
  }
}
