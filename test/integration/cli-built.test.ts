// The shipped binary: bin/berth.js runs the bundled CLI in dist/berth/ and compiles nothing at run
// time. It is run from a copy of bin/, dist/, proto/ and package.json with no node_modules at all, so
// neither tsx nor any dependency can be loaded from elsewhere: the bundle holds what it runs.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
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
    skipUnless(
      this,
      existsSync(join(root, 'dist', 'berth', 'main.js')),
      'dist/ is not built (npm run build)',
    );
    dir = await mkdtemp(join(tmpdir(), 'berth-built-'));
    await cp(join(root, 'bin'), join(dir, 'bin'), { recursive: true });
    await cp(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    await cp(join(root, 'proto'), join(dir, 'proto'), { recursive: true });
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

  it('runs `berth up` (API server, controllers, a node agent and, as root, the local CSI driver) until it answers', async function () {
    this.timeout(60_000);
    const dataDir = join(dir, 'data');
    const child = spawn(
      process.execPath,
      [join(dir, 'bin', 'berth.js'), 'up', '--data-dir', dataDir, '--port', '0', '--node', 'built-node'],
      { cwd: dir, env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const seen = (chunk: Buffer): void => {
          output += chunk.toString();
          if (/berth API listening on https:\/\/127\.0\.0\.1:\d+/.test(output)) resolve();
        };
        child.stdout.on('data', seen);
        child.stderr.on('data', seen);
        void exited.then((code) => reject(new Error(`berth up ended (${code}) before answering: ${output}`)));
      });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
    assert.match(output, /berth stopped/);
  });

  it('says how to build when dist/ is missing', async function () {
    await rm(join(dir, 'dist'), { recursive: true });
    await assert.rejects(run(process.execPath, [join(dir, 'bin', 'berth.js'), 'version']), (err: Error) =>
      /npm run build/.test((err as Error & { stderr: string }).stderr),
    );
  });
});
