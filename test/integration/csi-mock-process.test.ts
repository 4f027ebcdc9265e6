// The mock driver as a separate process: a driver that dies mid-call, and is restarted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import { CsiError, classify } from '../../src/csi/errors.js';
import { DIE_EXIT_CODE } from '../mock-driver/faults.js';

const MAIN = path.resolve(import.meta.dirname, '..', 'mock-driver', 'main.ts');
const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

interface Driver {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
}

describe('mock driver as a child process', function () {
  let dir: string;
  let socketPath: string;
  let stateFile: string;
  const started: Driver[] = [];

  async function startDriver(extra: string[] = []): Promise<Driver> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        '--endpoint',
        `unix://${socketPath}`,
        '--node-id',
        'n1',
        '--state-file',
        stateFile,
        ...extra,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const driver = { child, exited };
    started.push(driver);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready ')) resolve();
      });
      void exited.then((code) => reject(new Error(`driver exited with ${code} before ready: ${stderr}`)));
    });
    return driver;
  }

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-csi-proc-'));
    socketPath = path.join(dir, 'csi.sock');
    stateFile = path.join(dir, 'state.json');
  });

  afterEach(async function () {
    for (const d of started.splice(0)) {
      if (d.child.exitCode === null && d.child.signalCode === null && d.child.pid !== undefined) {
        process.kill(d.child.pid, 'SIGKILL');
        await d.exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('dies after creating the volume; the retry after restart finds the same volume', async function () {
    const first = await startDriver(['--fault', 'CreateVolume:die-after']);
    const client = new CsiClient(socketPath, { timeoutMs: 10_000 });
    try {
      const err = await client.createVolume({ name: 'pvc-x', volume_capabilities: [MOUNT_RWO] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof CsiError, String(err));
      assert.equal(err.codeName, 'UNAVAILABLE');
      assert.equal(classify(err), 'in-progress');
      assert.equal(await first.exited, DIE_EXIT_CODE);
      assert.ok(existsSync(socketPath), 'a crashed driver leaves its socket behind');

      await startDriver();
      await client.waitForReady(10_000);
      const again = await client.createVolume({ name: 'pvc-x', volume_capabilities: [MOUNT_RWO] });
      assert.equal(again.volume?.volume_id, 'mock-vol-1');
      assert.equal((await client.listVolumes()).entries.length, 1);
    } finally {
      client.close();
    }
  });

  it('answers injected error codes and shuts down cleanly on SIGTERM', async function () {
    const driver = await startDriver(['--fault', 'NodeGetInfo:error=ABORTED:busy', '--no-publish']);
    const client = new CsiClient(`unix://${socketPath}`, { timeoutMs: 10_000 });
    try {
      const err = await client.nodeGetInfo().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof CsiError);
      assert.deepEqual([err.codeName, err.details], ['ABORTED', 'busy']);
      assert.equal((await client.nodeGetInfo()).node_id, 'n1');
      const caps = (await client.controllerGetCapabilities()).capabilities.map((c) => c.rpc?.type);
      assert.ok(!caps.includes('PUBLISH_UNPUBLISH_VOLUME'));
    } finally {
      client.close();
    }
    driver.child.kill('SIGTERM');
    assert.equal(await driver.exited, 0);
    assert.equal(existsSync(socketPath), false);
  });
});
