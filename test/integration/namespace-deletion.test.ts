// Deleting a namespace, end to end through the REST API with real mounts (root): an embedded berth
// with one node agent and the local CSI driver. The namespace holds a pod writing to a dynamically
// provisioned claim (reclaimPolicy Delete) and a ConfigMap. Deleting it makes it Terminating, with
// nothing new allowed in; the namespace controller deletes the pod (its volume is unmounted), the
// claim, then the provisioner the volume; a ConfigMap's own finalizer holds the namespace (its
// conditions say so) until it is taken off, and the namespace goes only once it is empty. default,
// kube-system and kube-public cannot be deleted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K, kindNamed } from '../../src/api/kinds.js';
import type { Pod } from '../../src/api/types.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../../src/cli/embedded.js';
import { RestClient } from '../../src/client/rest.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { VOLUME_PATHS_ANNOTATION } from '../../src/node/desired-state.js';
import { gone } from '../helpers/api-e2e.js';
import { eventually } from '../helpers/eventually.js';
import { isRoot, skipUnless } from '../helpers/skip.js';

const CM = kindNamed('ConfigMap');

describe('deleting a namespace (one node, local CSI volume, real mounts)', function () {
  this.timeout(120_000);
  let dir: string;
  let berth: EmbeddedBerth | undefined;
  let api: RestClient;

  before(async function () {
    skipUnless(this, isRoot, 'needs root: loop devices and mounts');
    dir = await mkdtemp(join(tmpdir(), 'berth-ns-delete-'));
    berth = await startEmbeddedBerth({
      dataDir: join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: [{ name: 'node-1', rootDir: join(dir, 'nodes', 'node-1') }],
    });
    api = await RestClient.fromKubeconfig(berth.kubeconfigPath);
  });

  after(async function () {
    await berth?.stop();
    if (dir) {
      assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'no mount left');
      assert.ok(!execFileSync('losetup', ['-a'], { encoding: 'utf8' }).includes(dir), 'no loop device left');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('empties the namespace (pod, claim, volume), refusing new content meanwhile, then removes it', async function () {
    await api.create(K.namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    const ns = await api.get(K.namespace, undefined, 'shop');
    assert.deepEqual(
      ns['spec'],
      { finalizers: ['kubernetes'] },
      'a new namespace carries the kubernetes finalizer',
    );
    await api.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-wffc' },
      provisioner: 'local.csi.berth.io',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    });
    await api.create(K.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'shop' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'local-wffc',
        resources: { requests: { storage: '16Mi' } },
      },
    });
    await api.create(CM, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'shop', finalizers: ['example.com/hold'] },
    });
    await api.create<Pod>(K.pod, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: 'shop' },
      spec: {
        containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
      },
    });
    const hostPath = await eventually('app Running with its volume', async () => {
      const pod = await api.get<Pod>(K.pod, 'shop', 'app');
      const paths = JSON.parse(pod.metadata.annotations?.[VOLUME_PATHS_ANNOTATION] ?? '{}') as Record<
        string,
        string
      >;
      return pod.status?.phase === 'Running' ? paths['d'] : undefined;
    });
    await writeFile(join(hostPath, 'order'), '42\n');
    const pvName = (await api.get(K.pvc, 'shop', 'data'))['spec'] as { volumeName?: string };
    assert.ok(pvName.volumeName, 'the claim is bound');

    await api.delete(K.namespace, undefined, 'shop');
    const terminating = await api.get(K.namespace, undefined, 'shop');
    assert.ok(terminating.metadata.deletionTimestamp);
    assert.equal((terminating['status'] as { phase?: string }).phase, 'Terminating');
    await assert.rejects(
      api.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: 'shop' } }),
      (err: unknown) =>
        isStatusError(err, 'Forbidden') &&
        err.message ===
          'configmaps "late" is forbidden: unable to create new content in namespace shop because it is being terminated',
    );

    // nor can its status say Active again while it is being deleted
    await assert.rejects(
      api.update(K.namespace, { ...terminating, status: { phase: 'Active' } }, { subresource: 'status' }),
      (err: unknown) =>
        isStatusError(err, 'Invalid') &&
        err.message.includes(
          'status.Phase: Invalid value: "Active": may only be \'Terminating\' if `deletionTimestamp` is not empty',
        ),
    );

    await gone(api, K.pod, 'shop', 'app');
    await gone(api, K.pvc, 'shop', 'data');
    await gone(api, K.pv, undefined, pvName.volumeName);
    // the ConfigMap's own finalizer holds it, and with it the namespace, which says so
    const onlyHold =
      'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances';
    await eventually('the namespace says what holds it', async () => {
      const now = await api.get(K.namespace, undefined, 'shop');
      const conditions =
        (now['status'] as { conditions?: { type: string; message: string }[] }).conditions ?? [];
      return conditions.some((c) => c.type === 'NamespaceFinalizersRemaining' && c.message === onlyHold);
    });
    assert.ok(
      (await api.get(K.namespace, undefined, 'shop')).metadata.deletionTimestamp,
      'still Terminating',
    );
    await api.patch(CM, 'shop', 'settings', { metadata: { finalizers: null } });
    await gone(api, CM, 'shop', 'settings');
    await gone(api, K.namespace, undefined, 'shop');
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(hostPath), 'the volume is unmounted');
    // a namespace by the same name starts empty: nothing of the old one comes back
    await api.create(K.namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    assert.deepEqual((await api.list(CM, { namespace: 'shop' })).items, []);
    assert.deepEqual((await api.list(K.pvc, { namespace: 'shop' })).items, []);
  });

  it('refuses to delete default, kube-system and kube-public', async function () {
    for (const name of ['default', 'kube-system', 'kube-public']) {
      await assert.rejects(
        api.delete(K.namespace, undefined, name),
        (err: unknown) =>
          isStatusError(err, 'Forbidden') &&
          err.message === `namespaces "${name}" is forbidden: this namespace may not be deleted`,
      );
      const ns = await api.get(K.namespace, undefined, name);
      assert.equal(ns.metadata.deletionTimestamp, undefined);
    }
  });
});
