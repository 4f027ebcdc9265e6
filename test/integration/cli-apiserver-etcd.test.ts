// `berth apiserver` replicas on one real etcd: both serve the same objects, and the kubeconfig of
// either works against the other (the credentials were created once and kept in etcd), also for
// the real kubectl.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindFor } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { parseKubeconfig } from '../../src/client/kubeconfig.js';
import { RestClient } from '../../src/client/rest.js';
import { readFile } from 'node:fs/promises';
import { hasCommand } from '../conformance/host.js';
import { spawnBerth, waitForOutput, type Spawned } from '../helpers/berth-process.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { skipUnless } from '../helpers/skip.js';

const configMaps = kindFor('v1', 'ConfigMap')!;

describe('cli: berth apiserver replicas on etcd (processes)', function () {
  this.timeout(60_000);
  let etcd: EtcdServer | undefined;
  const dirs: string[] = [];
  const replicas: Spawned[] = [];

  before(async function () {
    const why = etcdUnavailable() ?? (hasCommand('kubectl') ? undefined : 'needs kubectl');
    skipUnless(this, why === undefined, why ?? '');
    etcd = await startEtcd();
  });
  after(async function () {
    for (const replica of replicas) {
      if (replica.child.exitCode === null) replica.child.kill('SIGKILL');
      await replica.exited;
    }
    await etcd?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function startReplica(
    extra = ['--bind-address=127.0.0.1'],
  ): Promise<{ url: string; kubeconfig: string }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-apiserver-'));
    dirs.push(dataDir);
    const proc = spawnBerth([
      'apiserver',
      `--etcd-servers=${etcd!.endpoint}`,
      '--secure-port=0',
      `--data-dir=${dataDir}`,
      ...extra,
    ]);
    replicas.push(proc);
    const [, url] = await waitForOutput(proc, /berth API listening on (\S+)\n/);
    const [, kubeconfig] = await waitForOutput(proc, /kubeconfig: (\S+)\n/);
    return { url: url!, kubeconfig: kubeconfig! };
  }

  it('serves the same objects from both replicas with one set of credentials', async function () {
    const a = await startReplica();
    const b = await startReplica();
    const credentialsOfA = await parseKubeconfig(await readFile(a.kubeconfig, 'utf8'), a.kubeconfig);
    const credentialsOfB = await parseKubeconfig(await readFile(b.kubeconfig, 'utf8'), b.kubeconfig);
    assert.equal(credentialsOfA.token, credentialsOfB.token);
    assert.equal(credentialsOfA.caPem, credentialsOfB.caPem);

    const viaA = await RestClient.fromKubeconfig(a.kubeconfig);
    const viaB = new RestClient({ ...credentialsOfA, server: b.url });
    const created = await viaA.create<KubeObject>(configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shared', namespace: 'default' },
      data: { from: 'a' },
    });
    const read = await viaB.get(configMaps, 'default', 'shared');
    assert.equal(read.metadata.uid, created.metadata.uid);
    // a stale write through the other replica is a conflict
    await viaB.patch(configMaps, 'default', 'shared', { data: { from: 'b' } });
    await assert.rejects(
      viaA.update(configMaps, { ...created, data: { from: 'stale' } }),
      /has been modified/,
    );

    // a watch through one replica sees a write through the other
    const controller = new AbortController();
    const seen = (async () => {
      for await (const event of viaB.watch(configMaps, {
        namespace: 'default',
        resourceVersion: read.metadata.resourceVersion!,
        signal: controller.signal,
      })) {
        if (event.object.metadata.name === 'later') return event.type;
      }
      return undefined;
    })();
    await viaA.create(configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'later', namespace: 'default' },
    });
    assert.equal(await seen, 'ADDED');
    controller.abort();

    // the real kubectl: each replica's kubeconfig, pointed at the other replica, verifies its
    // certificate and is let in
    for (const [config, server] of [
      [a.kubeconfig, b.url],
      [b.kubeconfig, a.url],
    ] as const) {
      const r = await execa(
        'kubectl',
        ['--kubeconfig', config, '--server', server, 'get', 'configmap', 'later', '-o', 'name'],
        { reject: false },
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, 'configmap/later');
    }
  });

  it('serves a certificate that names its --bind-address (clients on other hosts verify it)', async function () {
    // 127.0.0.2 stands for a host's own address; its own state, apart from the first test's
    const replica = await startReplica(['--bind-address=127.0.0.2', '--etcd-prefix=/other-host']);
    assert.match(replica.url, /^https:\/\/127\.0\.0\.2:\d+$/);
    const r = await execa(
      'kubectl',
      ['--kubeconfig', replica.kubeconfig, 'get', 'configmaps', '-A', '-o', 'name'],
      {
        reject: false,
      },
    );
    assert.equal(r.exitCode, 0, r.stderr);
  });

  it('names --tls-san when it is neither an IPv4 address nor a DNS name', async function () {
    const proc = spawnBerth(['apiserver', `--etcd-servers=${etcd!.endpoint}`, '--tls-san=Bad_Name']);
    replicas.push(proc);
    assert.equal(await proc.exited, 1);
    assert.match(proc.stderr(), /^error: invalid argument "Bad_Name" for "--tls-san" flag/m);
  });
});
