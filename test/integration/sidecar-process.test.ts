// `berth sidecar provisioner` as separate processes with only a kubeconfig, against berth's API
// server with berth's PV controller playing Kubernetes: two replicas with leader election
// provision every claim exactly once, and when the leader is killed the other takes over.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Lease, PersistentVolumeClaim } from '../../src/api/types.js';
import { ensureCredentials } from '../../src/apiserver/index.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { PvController } from '../../src/pv-controller/controller.js';
import { spawnBerth, waitForOutput, type Spawned } from '../helpers/berth-process.js';
import { newClaim, newClass } from '../helpers/builders.js';
import { eventually } from '../helpers/eventually.js';
import { startKubectlServer, type KubectlServer } from '../helpers/kubectl-server.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';

const driverName = 'mock.csi.berth.io';

describe('berth sidecar provisioner as processes (leader election over the REST API)', function () {
  this.timeout(180_000);
  let api: KubectlServer;
  let mock: StartedMockDriver;
  let pv: PvController;
  const replicas: Spawned[] = [];

  before(async () => {
    api = await startKubectlServer('berth-sidecar-proc-');
    mock = await startMockDriver({ socketPath: join(api.dir, 'csi.sock'), name: driverName, nodeId: 'n1' });
    pv = new PvController({ store: api.store, log: silentLogger });
    await pv.start();
  });

  after(async () => {
    for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await pv?.stop();
    await mock?.shutdown();
    await api?.close();
  });

  async function allBound(names: string[]): Promise<void> {
    await eventually(
      `claims ${names.join(', ')} bound`,
      async () => {
        for (const name of names) {
          const c = await api.store.get<PersistentVolumeClaim>(K.pvc, 'default', name);
          if (c.status?.phase !== 'Bound') return false;
        }
        return true;
      },
      90_000,
    );
  }

  it('provisions each claim once with two replicas, and fails over when the leader dies', async () => {
    const { kubeconfigPath } = await ensureCredentials(api.dir, api.server.url);
    for (let i = 0; i < 2; i++) {
      replicas.push(
        spawnBerth(
          [
            'sidecar',
            'provisioner',
            `--kubeconfig=${kubeconfigPath}`,
            `--csi-address=${mock.socketPath}`,
            '--leader-election',
            '--leader-election-namespace=kube-system',
            '--leader-election-lease-duration=4s',
            '--leader-election-renew-deadline=3s',
            '--leader-election-retry-period=1s',
            // a standby without an HTTP server must keep waiting for the Lease, not end
            ...(i === 0 ? ['--http-endpoint=127.0.0.1:0'] : []),
          ],
          { POD_NAME: `provisioner-${i}` },
        ),
      );
    }
    for (const r of replicas)
      await waitForOutput(r, /berth sidecar provisioner for mock\.csi\.berth\.io via .*kubeconfig/, 60_000);
    await api.store.create(K.sc, newClass('mock', { provisioner: driverName }));
    const first = ['c1', 'c2', 'c3', 'c4'];
    for (const name of first)
      await api.store.create(K.pvc, newClaim(name, '1Gi', { className: 'mock', uid: '' }));
    await allBound(first);

    const lease = await api.store.get<Lease>(K.lease, 'kube-system', 'mock-csi-berth-io');
    const holder = lease.spec?.holderIdentity ?? '';
    const leader = replicas.findIndex((_, i) => holder.startsWith(`provisioner-${i}_`));
    assert.ok(leader >= 0, `the lease is held by a replica (${holder})`);
    replicas[leader]!.child.kill('SIGKILL');
    await replicas[leader]!.exited;

    const second = ['c5', 'c6'];
    for (const name of second)
      await api.store.create(K.pvc, newClaim(name, '1Gi', { className: 'mock', uid: '' }));
    await allBound(second);
    const after = await api.store.get<Lease>(K.lease, 'kube-system', 'mock-csi-berth-io');
    assert.ok(
      after.spec?.holderIdentity?.startsWith(`provisioner-${1 - leader}_`),
      'the other replica took over',
    );

    const names = mock.driver.callsOf('CreateVolume').map((c) => (c.request as { name: string }).name);
    assert.equal(new Set(names).size, 6, 'one volume per claim');
    assert.equal(names.length, 6, `CreateVolume once per claim, not twice: ${names.join(', ')}`);
    assert.equal((await api.store.list(K.pv)).items.length, 6);
  });
});
