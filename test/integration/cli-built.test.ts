// The shipped binary: bin/berth.js runs the compiled CLI in dist/ and compiles nothing at run time.
// It is run from a copy of bin/, dist/ and package.json with no node_modules at all, so neither
// tsx nor any dependency can be loaded by `berth version --client`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { skipUnless } from '../helpers/skip.js';

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

describe('cli: the built binary', function () {
  let dir: string;

  before(async function () {
    skipUnless(this, existsSync(join(root, 'dist', 'cli', 'main.js')), 'dist/ is not built (npm run build)');
    dir = await mkdtemp(join(tmpdir(), 'berth-built-'));
    await cp(join(root, 'bin'), join(dir, 'bin'), { recursive: true });
    await cp(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    await cp(join(root, 'package.json'), join(dir, 'package.json'));
  });

  after(async function () {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers `version --client` from compiled JS alone', async function () {
    const { stdout } = await run(process.execPath, [join(dir, 'bin', 'berth.js'), 'version', '--client'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '' },
    });
    assert.match(stdout, /^Client Version: v\d+\.\d+\.\d+\n$/);
  });

  it('says how to build when dist/ is missing', async function () {
    await rm(join(dir, 'dist'), { recursive: true });
    await assert.rejects(run(process.execPath, [join(dir, 'bin', 'berth.js'), 'version']), (err: Error) =>
      /npm run build/.test((err as Error & { stderr: string }).stderr),
    );
  });
});
