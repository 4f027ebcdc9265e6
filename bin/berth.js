#!/usr/bin/env node
// The installed `berth`: runs the bundled CLI in dist/berth/ (built by `npm run build`, which
// `prepare` runs on install). It never compiles TypeScript at run time.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/berth/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'berth: dist/ is missing; run `npm run build` first (or `npm run berth -- ARGS` from sources)\n',
  );
  process.exit(1);
}
const { main } = await import(entry.href);
await main();
