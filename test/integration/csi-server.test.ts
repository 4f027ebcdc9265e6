// serveCsi on real unix sockets: stale sockets, shutdown, error mapping.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import { CsiError, classify, csiError, status } from '../../src/csi/errors.js';
import { serveCsi } from '../../src/csi/server.js';
import type { ServerCallLog } from '../../src/csi/server.js';

/** Leaves a socket file behind with nothing listening: a process listens on it and is SIGKILLed. */
async function makeStaleSocket(socketPath: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", socketPath],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`listener exited early (${code})`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('serveCsi', function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-csi-srv-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('unlinks a stale socket file and serves on its path', async function () {
    const socketPath = path.join(dir, 'csi.sock');
    await makeStaleSocket(socketPath);
    assert.ok(lstatSync(socketPath).isSocket(), 'stale socket is there');
    const server = await serveCsi(`unix://${socketPath}`, {
      identity: { GetPluginInfo: async () => ({ name: 'x.example.com', vendor_version: '1' }) },
    });
    const client = new CsiClient(socketPath, { timeoutMs: 5_000 });
    try {
      assert.equal((await client.getPluginInfo()).name, 'x.example.com');
    } finally {
      client.close();
      await server.shutdown();
    }
  });

  it('refuses to remove a path that is not a socket', async function () {
    const socketPath = path.join(dir, 'csi.sock');
    writeFileSync(socketPath, 'important data');
    await assert.rejects(serveCsi(socketPath, { identity: {} }), /not a socket/);
    assert.ok(existsSync(socketPath));
  });

  it('graceful shutdown waits for calls in flight and removes the socket', async function () {
    const socketPath = path.join(dir, 'sub', 'csi.sock');
    const server = await serveCsi(socketPath, {
      identity: {
        Probe: async () => {
          await new Promise((r) => setTimeout(r, 200));
          return { ready: { value: true } };
        },
      },
    });
    assert.equal(server.endpoint, `unix://${socketPath}`);
    const client = new CsiClient(socketPath, { timeoutMs: 5_000 });
    try {
      const inflight = client.probe();
      await new Promise((r) => setTimeout(r, 50));
      await server.shutdown();
      assert.equal((await inflight).ready?.value, true);
      assert.equal(existsSync(socketPath), false);
    } finally {
      client.close();
    }
  });

  it('forces shutdown of hung calls after the timeout', async function () {
    const socketPath = path.join(dir, 'csi.sock');
    const server = await serveCsi(
      socketPath,
      { identity: { Probe: () => new Promise(() => undefined) } },
      { shutdownTimeoutMs: 200 },
    );
    const client = new CsiClient(socketPath, { timeoutMs: 10_000 });
    try {
      const hung = client.probe().catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      await server.shutdown();
      assert.ok(Date.now() - started < 2_000);
      const err = await hung;
      // The client sees the connection drop (CANCELLED or UNAVAILABLE): either way "may still be running".
      assert.ok(err instanceof CsiError);
      assert.ok(['CANCELLED', 'UNAVAILABLE'].includes(err.codeName), err.codeName);
      assert.equal(classify(err), 'in-progress');
      assert.equal(existsSync(socketPath), false);
    } finally {
      client.close();
    }
  });

  it('maps thrown CsiError to its code, other errors to INTERNAL, missing methods to UNIMPLEMENTED', async function () {
    const socketPath = path.join(dir, 'csi.sock');
    const logged: ServerCallLog[] = [];
    const server = await serveCsi(
      socketPath,
      {
        identity: {
          GetPluginInfo: async () => {
            throw csiError(status.FAILED_PRECONDITION, 'not yet');
          },
          Probe: async () => {
            throw new Error('disk on fire');
          },
        },
        node: {},
      },
      { logger: (e) => logged.push(e) },
    );
    const client = new CsiClient(socketPath, { timeoutMs: 5_000 });
    try {
      const codeOf = async (p: Promise<unknown>) => {
        const err = await p.then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof CsiError);
        return [err.codeName, err.details];
      };
      assert.deepEqual(await codeOf(client.getPluginInfo()), ['FAILED_PRECONDITION', 'not yet']);
      assert.deepEqual(await codeOf(client.probe()), ['INTERNAL', 'disk on fire']);
      assert.deepEqual(await codeOf(client.getPluginCapabilities()), [
        'UNIMPLEMENTED',
        'Identity.GetPluginCapabilities is not implemented by this driver',
      ]);
      const [code] = await codeOf(client.nodeGetInfo());
      assert.equal(code, 'UNIMPLEMENTED');
      // No controller handlers at all: the service is absent, which gRPC also reports as UNIMPLEMENTED.
      const [ctrl] = await codeOf(client.controllerGetCapabilities());
      assert.equal(ctrl, 'UNIMPLEMENTED');
      assert.deepEqual(
        logged.map((l) => [l.method, l.error?.code]),
        [
          ['GetPluginInfo', status.FAILED_PRECONDITION],
          ['Probe', status.INTERNAL],
          ['GetPluginCapabilities', status.UNIMPLEMENTED],
          ['NodeGetInfo', status.UNIMPLEMENTED],
        ],
      );
    } finally {
      client.close();
      await server.shutdown();
    }
  });

  it('aborts the handler signal when the caller gives up', async function () {
    const socketPath = path.join(dir, 'csi.sock');
    let aborted = false;
    const server = await serveCsi(socketPath, {
      identity: {
        Probe: (_req, ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            });
          }),
      },
    });
    const client = new CsiClient(socketPath, { timeoutMs: 100 });
    try {
      await assert.rejects(
        client.probe(),
        (e: unknown) => e instanceof CsiError && e.codeName === 'DEADLINE_EXCEEDED',
      );
      for (let i = 0; i < 20 && !aborted; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(aborted, true);
    } finally {
      client.close();
      await server.shutdown();
    }
  });

  it('gives an already aborted signal to a handler that first looks after the caller gave up', async function () {
    const socketPath = path.join(dir, 'csi.sock');
    let cancelled!: () => void;
    const gaveUp = new Promise<void>((resolve) => (cancelled = resolve));
    let abortedWhenRead: boolean | undefined;
    const server = await serveCsi(socketPath, {
      identity: {
        Probe: async (_req, ctx) => {
          await gaveUp;
          abortedWhenRead = ctx.signal.aborted;
          return {};
        },
      },
    });
    const client = new CsiClient(socketPath, { timeoutMs: 100 });
    try {
      await assert.rejects(
        client.probe(),
        (e: unknown) => e instanceof CsiError && e.codeName === 'DEADLINE_EXCEEDED',
      );
      // The server sees the cancellation a moment after the client gives up.
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 25));
      cancelled();
      for (let i = 0; i < 20 && abortedWhenRead === undefined; i++)
        await new Promise((r) => setTimeout(r, 25));
      assert.equal(abortedWhenRead, true);
    } finally {
      client.close();
      await server.shutdown();
    }
  });
});
