// The README's test command: type-check, lint, layer rules, then every mocha test. Ends with one line
// `N passed, N failed, N skipped` counting the checks and the tests together.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const root = join(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;

function check(title, command, args) {
  console.log(`\n== ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status === 0) passed++;
  else {
    failed++;
    console.log(`== ${title}: FAILED`);
  }
}

check('type-check (src)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
check('type-check (tests)', bin('tsc'), ['-p', 'tsconfig.test.json']);
check('lint', bin('eslint'), ['src', 'test', 'bench']);
check('format', bin('prettier'), ['--check', '--log-level', 'warn', 'src', 'test', 'bench']);
// .dependency-cruiser.cjs: layers only point down, no cycles, no orphans; names the broken rule.
check('layers', bin('depcruise'), [
  '--config',
  '.dependency-cruiser.cjs',
  '--output-type',
  'err',
  'src',
  'test',
  'bench',
]);

const summaryFile = join(tmpdir(), `berth-mocha-summary-${process.pid}.json`);
console.log('\n== tests');
const mocha = spawnSync(bin('mocha'), ['--reporter', join(root, 'scripts', 'summary-reporter.cjs')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, BERTH_SUMMARY_FILE: summaryFile },
});
let skipped = 0;
try {
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
  passed += summary.passes;
  failed += summary.failures;
  skipped += summary.pending;
  rmSync(summaryFile, { force: true });
} catch {
  failed++;
  console.log(`== mocha ended without a summary (exit ${mocha.status ?? mocha.signal})`);
}
if (mocha.status !== 0 && failed === 0) failed++;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 ? 0 : 1);
