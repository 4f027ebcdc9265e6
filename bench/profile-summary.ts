// Prints the functions with the most self time in a V8 .cpuprofile (from node --cpu-prof), so a
// benchmark's report can name what dominates.
// With --window FROM-TO (seconds from the profile's start; TO may be left out), only samples in
// that window count: e.g. the idle phase of a run that also loaded data.
// With --by-file, self time is also summed per source file (per package for node_modules, per
// internal module for node's own), which shows which layer a spread-out cost belongs to.
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 25] [--inclusive] [--by-file] [--window 60-90]
import { readFileSync } from 'node:fs';
import { numberFlag, stringFlag } from './helpers/flags.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top N]');
const top = numberFlag('top', 25);
const [fromS, toS] = (stringFlag('window') ?? '0-').split('-').map((v) => (v === '' ? Infinity : Number(v)));
const fromMicros = (fromS ?? 0) * 1e6;
const toMicros = (toS ?? Infinity) * 1e6;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

function nameOf(node: ProfileNode): string {
  const frame = node.callFrame;
  const file = shortUrl(frame.url);
  return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
}

/** The url from the repository (or node_modules) on: the first such folder, not a package's own src/. */
function shortUrl(url: string): string {
  return url.replace(/^.*?\/(node_modules|src|bench)\//, '$1/');
}

/** The file a frame's code is in: a package for node_modules, the kind of frame for V8's own. */
function fileOf(node: ProfileNode): string {
  const url = shortUrl(node.callFrame.url);
  if (url === '')
    return node.callFrame.functionName.startsWith('(') ? node.callFrame.functionName : '(native)';
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  return pkg ? `node_modules/${pkg[1]}` : url;
}

const selfMicros = new Map<string, number>();
const fileMicros = new Map<string, number>();
const totalMicros = new Map<string, number>();
let total = 0;
let elapsed = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  elapsed += delta;
  if (elapsed < fromMicros || elapsed > toMicros) return;
  total += delta;
  const leaf = nameOf(byId.get(id)!);
  selfMicros.set(leaf, (selfMicros.get(leaf) ?? 0) + delta);
  const file = fileOf(byId.get(id)!);
  fileMicros.set(file, (fileMicros.get(file) ?? 0) + delta);
  // Inclusive: every distinct function on the sample's stack.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const name = nameOf(byId.get(at)!);
    if (seen.has(name)) continue;
    seen.add(name);
    totalMicros.set(name, (totalMicros.get(name) ?? 0) + delta);
  }
});

function print(title: string, micros: Map<string, number>): void {
  console.log(`${title}:`);
  for (const [name, value] of [...micros].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * value) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
}
console.log(`${(total / 1e6).toFixed(2)} s sampled`);
print(`top ${top} by self time`, selfMicros);
if (process.argv.includes('--by-file')) print(`top ${top} files by self time`, fileMicros);
if (process.argv.includes('--inclusive')) print(`top ${top} by inclusive time`, totalMicros);
