// Summarises a V8 .heapsnapshot (node --heapsnapshot-signal, or bench:scale-embedded
// --heap-snapshot DIR): what retains the bytes. Prints the self size by constructor, and the
// dominator tree from the root down through every object that retains more than --min percent of
// the heap, named by the edge that holds it (so "ObjectTable.entries -> Map" rather than "Map").
// The file is read as bytes and parsed by hand: a snapshot of a large heap is longer than the
// longest string JSON.parse accepts.
//   node --import tsx bench/heap-summary.ts FILE.heapsnapshot [--min 1] [--depth 12] [--top 20]
import { readFileSync } from 'node:fs';
import { numberFlag } from './helpers/flags.js';

interface Meta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
}

const file = process.argv[2];
if (!file) throw new Error('usage: heap-summary FILE.heapsnapshot [--min PERCENT] [--depth N] [--top N]');
const minPercent = numberFlag('min', 1);
const maxDepth = numberFlag('depth', 12);
const top = numberFlag('top', 20);
const bytes = readFileSync(file);

function sectionStart(name: string): number {
  const at = bytes.indexOf(`"${name}":[`);
  if (at < 0) throw new Error(`${file}: no "${name}" section`);
  return at + name.length + 4;
}

/** The unsigned integers of a JSON array of numbers starting at `from`. */
function numbers(from: number): Uint32Array {
  let out = new Uint32Array(1 << 20);
  let n = 0;
  let value = -1;
  for (let i = from; ; i++) {
    const c = bytes[i]!;
    if (c >= 48 && c <= 57) value = (value < 0 ? 0 : value * 10) + (c - 48);
    else {
      if (value >= 0) {
        if (n === out.length) {
          const grown = new Uint32Array(out.length * 2);
          grown.set(out);
          out = grown;
        }
        out[n++] = value;
        value = -1;
      }
      if (c === 93) return out.subarray(0, n); // ]
    }
  }
}

function strings(from: number): string[] {
  const out: string[] = [];
  for (let i = from; bytes[i] !== 93; i++) {
    if (bytes[i] !== 34) continue; // "
    let end = i + 1;
    while (bytes[end] !== 34) end += bytes[end] === 92 ? 2 : 1; // skip escapes
    out.push(JSON.parse(bytes.toString('utf8', i, end + 1)) as string);
    i = end;
  }
  return out;
}

const header = bytes.toString('utf8', 0, bytes.indexOf('"nodes":['));
const meta = (
  JSON.parse(`${header.slice(header.indexOf('{', 1), header.lastIndexOf('}') + 1)}`) as { meta: Meta }
).meta;
const nodes = numbers(sectionStart('nodes'));
const edges = numbers(sectionStart('edges'));
const names = strings(sectionStart('strings'));

const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSize = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const eType = meta.edge_fields.indexOf('type');
const eName = meta.edge_fields.indexOf('name_or_index');
const eTo = meta.edge_fields.indexOf('to_node');
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const WEAK = edgeTypes.indexOf('weak');
const SHORTCUT = edgeTypes.indexOf('shortcut');
const count = nodes.length / NF;

const firstEdge = new Uint32Array(count + 1);
for (let n = 0; n < count; n++) firstEdge[n + 1] = firstEdge[n]! + nodes[n * NF + nEdges]! * EF;
const followed = (e: number): boolean => edges[e + eType] !== WEAK && edges[e + eType] !== SHORTCUT;

// depth-first post-order from the root (node 0), iteratively
const post = new Uint32Array(count).fill(0xffffffff); // node -> post-order number
const order: number[] = []; // post-order number -> node
const stack = [0];
const nextEdge = new Uint32Array(count);
const seen = new Uint8Array(count);
seen[0] = 1;
for (let n = 0; n < count; n++) nextEdge[n] = firstEdge[n]!;
while (stack.length > 0) {
  const n = stack[stack.length - 1]!;
  let pushed = false;
  while (nextEdge[n]! < firstEdge[n + 1]!) {
    const e = nextEdge[n]!;
    nextEdge[n] = e + EF;
    if (!followed(e)) continue;
    const to = edges[e + eTo]! / NF;
    if (seen[to]) continue;
    seen[to] = 1;
    stack.push(to);
    pushed = true;
    break;
  }
  if (!pushed) {
    stack.pop();
    post[n] = order.length;
    order.push(n);
  }
}

// predecessors (CSR) of reachable nodes
const predCount = new Uint32Array(count + 1);
for (let n = 0; n < count; n++)
  if (seen[n])
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF)
      if (followed(e)) predCount[edges[e + eTo]! / NF + 1]!++;
for (let n = 0; n < count; n++) predCount[n + 1]! += predCount[n]!;
const preds = new Uint32Array(predCount[count]!);
const fill = predCount.slice(0, count);
for (let n = 0; n < count; n++)
  if (seen[n])
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF)
      if (followed(e)) preds[fill[edges[e + eTo]! / NF]!++] = n;

// immediate dominators (Cooper, Harvey and Kennedy's iteration over reverse post-order)
const UNDEF = 0xffffffff;
const idom = new Uint32Array(count).fill(UNDEF);
idom[0] = 0;
for (let changed = true; changed;) {
  changed = false;
  for (let i = order.length - 2; i >= 0; i--) {
    const n = order[i]!;
    let chosen = UNDEF;
    for (let p = predCount[n]!; p < predCount[n + 1]!; p++) {
      const pred = preds[p]!;
      if (idom[pred] === UNDEF) continue;
      if (chosen === UNDEF) {
        chosen = pred;
        continue;
      }
      let a = pred;
      let b = chosen;
      while (a !== b) {
        while (post[a]! < post[b]!) a = idom[a]!;
        while (post[b]! < post[a]!) b = idom[b]!;
      }
      chosen = a;
    }
    if (chosen !== UNDEF && idom[n] !== chosen) {
      idom[n] = chosen;
      changed = true;
    }
  }
}

const retained = new Float64Array(count);
for (const n of order) retained[n]! += nodes[n * NF + nSize]!;
for (const n of order) if (n !== 0) retained[idom[n]!]! += retained[n]!;
const total = retained[0]!;

function describe(n: number): string {
  const type = nodeTypes[nodes[n * NF + nType]!]!;
  const name = names[nodes[n * NF + nName]!] ?? '';
  const short = name.length > 60 ? `${name.slice(0, 57)}...` : name;
  return type === 'object' || type === 'native' ? short : `(${type}) ${short}`;
}

function edgeLabel(from: number, to: number): string | undefined {
  for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e += EF) {
    if (edges[e + eTo]! / NF !== to) continue;
    const type = edgeTypes[edges[e + eType]!];
    return type === 'element' || type === 'hidden'
      ? `[${edges[e + eName]}]`
      : String(names[edges[e + eName]!]);
  }
  return undefined;
}

/** The edge by which `parent` holds `child`; when it holds it only through others, one of them. */
function edgeName(parent: number, child: number): string {
  const direct = edgeLabel(parent, child);
  if (direct !== undefined) return direct;
  const retainers = predCount[child + 1]! - predCount[child]!;
  const one = preds[predCount[child]!]!;
  return `(${retainers} retainers, e.g. ${describe(one)}.${edgeLabel(one, child)})`;
}

const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
console.log(`${file}: ${count} nodes, ${mib(total)} reachable`);

const selfBy = new Map<string, { bytes: number; count: number }>();
for (const n of order) {
  const key = describe(n);
  const entry = selfBy.get(key) ?? { bytes: 0, count: 0 };
  entry.bytes += nodes[n * NF + nSize]!;
  entry.count++;
  selfBy.set(key, entry);
}
console.log(`\nself size by constructor (top ${top}):`);
for (const [name, { bytes: b, count: c }] of [...selfBy]
  .sort((a, b) => b[1].bytes - a[1].bytes)
  .slice(0, top))
  console.log(`  ${mib(b).padStart(11)}  ${String(c).padStart(9)}  ${name}`);

const children = new Map<number, number[]>();
for (const n of order) {
  if (n === 0) continue;
  const list = children.get(idom[n]!) ?? [];
  list.push(n);
  children.set(idom[n]!, list);
}
console.log(`\ndominator tree (retained size; every object retaining over ${minPercent}% of the heap):`);
const minBytes = (total * minPercent) / 100;
function walk(n: number, depth: number, via: string): void {
  console.log(`  ${mib(retained[n]!).padStart(11)}  ${'  '.repeat(depth)}${via}${describe(n)}`);
  if (depth >= maxDepth) return;
  const big = (children.get(n) ?? []).filter((c) => retained[c]! >= minBytes);
  big.sort((a, b) => retained[b]! - retained[a]!);
  for (const c of big) walk(c, depth + 1, `${edgeName(n, c)} -> `);
}
walk(0, 0, '');
