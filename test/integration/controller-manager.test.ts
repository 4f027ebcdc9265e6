// `berth controller-manager` as real processes against `berth apiserver` replicas on a real etcd:
// one leader by Lease, a cut-off leader stops acting before its lease expires and the standby takes
// over (a TCP proxy in the test stops forwarding), and hostile configuration gets a clear error.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RestStore } from '../../src/machinery/rest-store.js';
import { spawnBerth, waitForOutput } from '../helpers/berth-process.js';
import { ControlPlane, leaseHolder, type ApiReplica } from '../helpers/control-plane.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/ganesha.js';
import { skipUnless } from '../helpers/skip.js';

/** A TCP proxy that forwards until cut(): then it holds every connection open and forwards nothing. */
async function startProxy(target: URL): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  let cut = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    if (cut) return; // accepted, never answered
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    client.on('data', (chunk) => {
      if (!cut) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!cut) client.write(chunk);
    });
    const end = (): void => {
      if (cut) return; // a partition does not close connections either
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    cut: () => void (cut = true),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const FAST = [
  '--leader-elect-lease-duration=6s',
  '--leader-elect-renew-deadline=4s',
  '--leader-elect-retry-period=1s',
];

describe('cli: berth controller-manager (processes, real etcd)', function () {
  this.timeout(120_000);
  let etcd: EtcdServer | undefined;
  let plane: ControlPlane;
  let api: ApiReplica;
  let store: RestStore;

  before(async function () {
    const why = etcdUnavailable();
    skipUnless(this, why === undefined, why ?? '');
    etcd = await startEtcd();
    plane = new ControlPlane(etcd.endpoint);
    api = await plane.apiserver();
    store = await plane.store(api.kubeconfig, [api.url]);
  });
  after(async function () {
    await store?.close();
    await plane?.stop();
    await etcd?.stop();
  });

  it('a leader cut off from its API server stops acting before its lease expires; the standby takes over', async function () {
    const proxy = await startProxy(new URL(api.url));
    try {
      const first = await plane.controllerManager([
        `--kubeconfig=${api.kubeconfig}`,
        `--master=${proxy.url}`,
        ...FAST,
      ]);
      await waitForOutput(first.proc, /became leader/, 30_000);
      const second = await plane.controllerManager([`--kubeconfig=${api.kubeconfig}`, ...FAST]);
      await waitForOutput(second.proc, /leader is /, 30_000);
      assert.equal((await leaseHolder(store))?.spec.holderIdentity, first.identity);

      // the old leader's last renewal, as the others see it: its lease expires 6 s after that
      let lastRenewal = 0;
      let watching = true;
      const watchLease = (async () => {
        while (watching) {
          const lease = await leaseHolder(store);
          if (lease?.spec.holderIdentity === first.identity && lease.spec.renewTime)
            lastRenewal = Math.max(lastRenewal, Date.parse(lease.spec.renewTime));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      proxy.cut();
      const cutAt = Date.now();
      const exitCode = await first.proc.exited;
      const exitedAt = Date.now();
      const stoppedAfterMs = exitedAt - cutAt;
      watching = false;
      await watchLease;
      assert.equal(exitCode, 1, 'a leader that lost its lease exits 1');
      assert.match(first.proc.stdout(), /leaderelection lost/);
      const taken = await eventually(
        'the standby to take the lease',
        async () => {
          const lease = await leaseHolder(store);
          return lease?.spec.holderIdentity === second.identity ? lease : undefined;
        },
        30_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${second.proc.stdout()}${second.proc.stderr().slice(-3000)}`);
      });
      await waitForOutput(second.proc, /became leader/, 10_000);
      const lease = taken;
      // the old leader's last renewal was before the cut; it left before that renewal + lease duration
      const acquiredAt = Date.parse(lease.spec.acquireTime!);
      assert.ok(lastRenewal > 0 && lastRenewal <= cutAt, 'no renewal went through the cut');
      assert.ok(
        exitedAt < lastRenewal + 6000,
        `the leader stopped ${exitedAt - lastRenewal} ms after its last renewal, before its 6 s lease expired`,
      );
      assert.ok(cutAt + stoppedAfterMs <= acquiredAt, 'the old leader stopped before the new one started');
      assert.equal(lease.spec.leaseTransitions, 1);
      console.log(
        `      partition: leader stopped ${stoppedAfterMs} ms after the cut (${exitedAt - lastRenewal} ms after its last renewal; lease 6 s); standby leading ${acquiredAt - cutAt} ms after the cut`,
      );
      second.proc.child.kill('SIGTERM');
      assert.equal(await second.proc.exited, 0);
      // a clean stop releases the lease
      assert.equal((await leaseHolder(store))?.spec.holderIdentity ?? '', '');
    } finally {
      await proxy.close();
    }
  });

  it('names the flag of a wrong value, and a kubeconfig that is missing or broken', async function () {
    this.timeout(300_000);
    const dir = await mkdtemp(join(tmpdir(), 'berth-cm-'));
    try {
      const cases: [string[], RegExp][] = [
        [['--leader-elect=maybe'], /invalid argument "maybe" for "--leader-elect" flag: strconv\.ParseBool/],
        [['--kubeconfig', join(dir, 'missing')], /kubeconfig .*missing: does not exist/],
        [
          ['--node-monitor-grace-period=0s'],
          /invalid argument "0s" for "--node-monitor-grace-period" flag: must be longer than 0s/,
        ],
        [
          ['--node-monitor-grace-period=soon'],
          /invalid argument "soon" for "--node-monitor-grace-period" flag/,
        ],
        [
          ['--attach-detach-reconcile-max-wait-for-unmount-duration=-1m'],
          /invalid argument "-1m" for "--attach-detach-reconcile-max-wait-for-unmount-duration" flag/,
        ],
        [
          ['--attach-detach-reconcile-max-wait-for-unmount-duration=0'],
          /invalid argument "0" for "--attach-detach-reconcile-max-wait-for-unmount-duration" flag: must be longer than 0s/,
        ],
      ];
      const broken = join(dir, 'broken');
      await writeFile(broken, 'clusters: [\n');
      cases.push([['--kubeconfig', broken], /invalid kubeconfig .*broken/]);
      await Promise.all(
        cases.map(async ([args, message]) => {
          const proc = spawnBerth(['controller-manager', `--kubeconfig=${api.kubeconfig}`, ...args]);
          assert.equal(await proc.exited, 1, args.join(' '));
          assert.match(proc.stderr(), message);
        }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('waits calmly for unreachable API servers, naming them, and stops cleanly', async function () {
    const nowhere = [`https://127.0.0.1:${await freePort()}`, `https://127.0.0.1:${await freePort()}`];
    const proc = spawnBerth([
      'controller-manager',
      `--kubeconfig=${api.kubeconfig}`,
      `--master=${nowhere.join(',')}`,
    ]);
    const waiting = (): number => (proc.stderr().match(/waiting for the API server/g) ?? []).length;
    await eventually('the first wait', async () => waiting() > 0, 90_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${proc.stdout()} ${proc.stderr()}`);
    });
    assert.match(
      proc.stderr(),
      new RegExp(`no API server answered: ${nowhere[0]!.replace(/\./g, '\\.')}: ECONNREFUSED`),
    );
    // back-off 1 s, 2 s, 4 s, 8 s...: one more line at most in the next 8 s, and few connection attempts
    await new Promise((resolve) => setTimeout(resolve, 8000));
    assert.ok(waiting() <= 2, proc.stderr());
    const unreachable = (proc.stderr().match(/API server unreachable/g) ?? []).length;
    assert.ok(unreachable <= 4, `${unreachable} unreachable lines: ${proc.stderr()}`);
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
  });
});
