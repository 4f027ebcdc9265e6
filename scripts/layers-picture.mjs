// Draws docs/layers.svg: the folders of src/ as boxes, one row per layer (cli on top, L0 at the bottom, as in
// .dependency-cruiser.cjs), and an arrow per folder-to-folder import, labelled with how many files
// import. An arrow that climbs a layer or goes sideways is drawn red (the layers check refuses it).
// Needs Graphviz's `dot`: `npm run layers:picture`.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const { layers } = createRequire(import.meta.url)(join(root, 'scripts', 'layers.cjs'));
const layerOf = new Map(layers.flatMap(([name, folders], rank) => folders.map((f) => [f, { name, rank }])));

const cruise = JSON.parse(
  execFileSync(join(root, 'node_modules', '.bin', 'depcruise'), ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', 'src'], {
    cwd: root,
    maxBuffer: 256 * 1024 * 1024,
  }).toString(),
);
const folderOf = (path) => /^src\/([^/]+)\//.exec(path)?.[1];
const edges = new Map();
for (const mod of cruise.modules) {
  const from = folderOf(mod.source);
  for (const dep of mod.dependencies) {
    const to = folderOf(dep.resolved);
    if (!from || !to || from === to) continue;
    edges.set(`${from} ${to}`, (edges.get(`${from} ${to}`) ?? 0) + 1);
  }
}

const lines = ['digraph layers {', '  rankdir=TB; newrank=true; node [shape=box style="rounded,filled" fillcolor="#eef3ff" fontname="Helvetica"];', '  edge [color="#55555588" fontname="Helvetica" fontsize=9];'];
for (const [name, folders] of layers) {
  lines.push(`  subgraph cluster_${name} { label="${name}"; fontname="Helvetica"; color="#bbbbbb"; { rank=same; ${folders.filter((f) => [...edges.keys()].some((k) => k.split(' ').includes(f))).map((f) => `"${f}"`).join('; ')} } }`);
}
let climbing = 0;
for (const [key, count] of edges) {
  const [from, to] = key.split(' ');
  const up = (layerOf.get(to)?.rank ?? -1) >= (layerOf.get(from)?.rank ?? -1);
  if (up) climbing++;
  lines.push(`  "${from}" -> "${to}" [label="${count}"${up ? ' color=red penwidth=2' : ''}];`);
}
lines.push('}');
mkdirSync(join(root, 'docs'), { recursive: true });
const svg = execFileSync('dot', ['-Tsvg'], { input: lines.join('\n') });
writeFileSync(join(root, 'docs', 'layers.svg'), svg);
if (process.argv.includes('--png')) writeFileSync(process.argv[process.argv.indexOf('--png') + 1], execFileSync('dot', ['-Tpng'], { input: lines.join('\n') }));
console.log(`docs/layers.svg: ${edges.size} folder-to-folder arrows, ${climbing} climbing or sideways`);
