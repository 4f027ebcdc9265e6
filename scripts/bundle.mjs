// Bundles the compiled CLI (dist/cli/main.js) and the packages it uses into dist/berth/, which
// bin/berth.js runs: Node then loads a few large files instead of resolving and linking some 700
// modules one by one, which was most of what `berth up` did before it opened its store (module
// loading of `berth up` about 0.95 -> 0.48 s CPU). Each command stays a chunk of its own, loaded
// when it runs. The bundle sits two folders below the package, as the compiled modules do, so
// paths they find relative to themselves (proto/) hold.
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

// chunks are named by their content: a new build leaves none of an older one's behind
await rm('dist/berth', { recursive: true, force: true });
await build({
  entryPoints: { main: 'dist/cli/main.js' },
  outdir: 'dist/berth',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // etcd3 reads its .proto files from beside its own sources: it stays in node_modules (and is
  // loaded only with --etcd-servers)
  external: ['etcd3'],
  // the CommonJS packages in the bundle (grpc-js, protobufjs, ...) call require for Node's modules
  banner: {
    js: "import { createRequire as berthCreateRequire } from 'node:module'; const require = berthCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
