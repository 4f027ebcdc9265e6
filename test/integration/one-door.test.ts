// One door: the same manifest created by a user over REST, by kubectl, and by berth's own
// components (AdmittedStore, what controllers and node agents write through in embedded mode)
// is stored the same: same defaults, admission (finalizers, default class), canonical quantities.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { kindFor, type KindInfo } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import {
  AdmittedStore,
  BERTH_FIELD_MANAGER,
  ensureCredentials,
  startApiServer,
  type ApiServer,
} from '../../src/apiserver/index.js';
import { updateManagerName } from '../../src/apiserver/managed-fields.js';
import { USER_AGENT } from '../../src/client/rest.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { skipUnless } from '../helpers/skip.js';

const kubectlAvailable = await execa('kubectl', ['version', '--client'], { reject: false }).then(
  (r) => r.exitCode === 0,
  () => false,
);

type Make = (name: string) => KubeObject;

const manifests: Array<[string, Make]> = [
  [
    'PersistentVolumeClaim',
    (name) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1024Mi' } } },
    }),
  ],
  [
    'PersistentVolume',
    (name) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name },
      spec: {
        capacity: { storage: '2048Mi' },
        accessModes: ['ReadWriteOnce'],
        csi: { driver: 'local.csi.berth.io', volumeHandle: name },
      },
    }),
  ],
  [
    'Pod',
    (name) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { memory: '1024Ki' } } }] },
    }),
  ],
  [
    'StatefulSet',
    (name) => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: 'default' },
      spec: {
        serviceName: 'svc',
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'www' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1024Mi' } } },
          },
        ],
      },
    }),
  ],
  [
    'StorageClass',
    (name) => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name },
      provisioner: 'local.csi.berth.io',
    }),
  ],
  [
    'CSIDriver',
    (name) => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: `${name}.example.com` },
      spec: {},
    }),
  ],
  [
    'CSINode',
    (name) => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSINode',
      metadata: { name },
      spec: { drivers: [{ name: 'local.csi.berth.io', nodeID: name }] },
    }),
  ],
  [
    'CSIStorageCapacity',
    (name) => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIStorageCapacity',
      metadata: { name, namespace: 'default' },
      storageClassName: 'standard',
      nodeTopology: { matchLabels: { 'topology.local.csi.berth.io/node': 'n1' } },
      capacity: '1024Mi',
      maximumVolumeSize: '1073741824',
    }),
  ],
  [
    'VolumeAttachment',
    (name) => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name },
      spec: { attacher: 'local.csi.berth.io', nodeName: 'n1', source: { persistentVolumeName: 'pv1' } },
    }),
  ],
  [
    'Secret',
    (name) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: 'default' },
      data: { k: 'dg==' },
    }),
  ],
  [
    'ConfigMap',
    (name) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'default' },
      data: { a: 'b' },
    }),
  ],
  ['Namespace', (name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })],
];

/** The stored object without what identifies this one copy (name, uid, times, versions). */
function comparable(obj: KubeObject, name: string): unknown {
  const text = JSON.stringify(obj).split(name).join('NAME');
  const copy = JSON.parse(text) as KubeObject;
  for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields'] as const) {
    delete (copy.metadata as Record<string, unknown>)[field];
  }
  return copy;
}

describe('one door: every writer gets the same defaulting, admission and validation', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EmbeddedStore;
  let server: ApiServer;
  let kubeconfig: string;
  let door: AdmittedStore;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-one-door-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    const { token, tls } = await ensureCredentials(dir, 'https://127.0.0.1:0');
    server = await startApiServer({ store, token, port: 0, tls });
    kubeconfig = (await ensureCredentials(dir, server.url)).kubeconfigPath;
    door = new AdmittedStore(store);
    // a default class, so that admission has something to add to claims
    await door.create(kindFor('storage.k8s.io/v1', 'StorageClass') as KindInfo, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: 'standard',
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'local.csi.berth.io',
    });
  });
  after(async function () {
    await server?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [kindName, make] of manifests) {
    it(`${kindName}: REST, kubectl and the components' door store the same object`, async function () {
      skipUnless(this, kubectlAvailable, 'kubectl is not installed');
      const kind = kindFor(make('x').apiVersion, kindName) as KindInfo;
      const stored: unknown[] = [];
      const names = ['via-door', 'via-kubectl', 'via-raw'];
      // 1. the components' door
      await door.create(kind, make(names[0] as string));
      // 2. kubectl create (client-side, what a user types)
      const file = join(dir, `${kindName}.json`);
      await writeFile(file, JSON.stringify(make(names[1] as string)));
      const created = await execa('kubectl', ['--kubeconfig', kubeconfig, 'create', '-f', file], {
        reject: false,
      });
      assert.equal(created.exitCode, 0, created.stderr);
      // 3. a raw REST POST of the manifest (kubectl create --raw: no client-side processing)
      const obj = make(names[2] as string);
      const prefix = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
      const path = `${prefix}${kind.namespaced ? `/namespaces/${obj.metadata.namespace ?? ''}` : ''}/${kind.plural}`;
      const rawFile = join(dir, `${kindName}-raw.json`);
      await writeFile(rawFile, JSON.stringify(obj));
      const posted = await execa(
        'kubectl',
        ['--kubeconfig', kubeconfig, 'create', '--raw', path, '-f', rawFile],
        {
          reject: false,
        },
      );
      assert.equal(posted.exitCode, 0, posted.stderr);
      for (const name of names) {
        const realName = kindName === 'CSIDriver' ? `${name}.example.com` : name;
        const ns = kind.namespaced ? 'default' : undefined;
        stored.push(comparable(await store.get(kind, ns, realName), name));
      }
      assert.deepEqual(stored[1], stored[0], 'kubectl create and the door differ');
      assert.deepEqual(stored[2], stored[0], 'a raw POST and the door differ');
    });
  }

  it("claims and pods from components are admitted like users' (protection finalizer, phase Pending)", async function () {
    const claim = await store.get(kindFor('v1', 'PersistentVolumeClaim') as KindInfo, 'default', 'via-door');
    assert.deepEqual(claim.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    assert.equal((claim['status'] as { phase?: string }).phase, 'Pending');
    assert.equal((claim['spec'] as { storageClassName?: string }).storageClassName, 'standard');
    assert.equal(
      (claim['spec'] as { resources: { requests: { storage: string } } }).resources.requests.storage,
      '1Gi',
    );
    const pod = await store.get(kindFor('v1', 'Pod') as KindInfo, 'default', 'via-door');
    assert.equal((pod['status'] as { phase?: string }).phase, 'Pending');
  });

  it("a component's update of a copy without managedFields keeps the user's entries and adds its own", async function () {
    skipUnless(this, kubectlAvailable, 'kubectl is not installed');
    const claims = kindFor('v1', 'PersistentVolumeClaim') as KindInfo;
    // a user's client-side apply, then a controller's writes from its informer's stripped copy
    const file = join(dir, 'kept.json');
    await writeFile(file, JSON.stringify(manifests[0]![1]('kept')));
    const applied = await execa('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', file], {
      reject: false,
    });
    assert.equal(applied.exitCode, 0, applied.stderr);
    const strip = (obj: KubeObject): KubeObject => {
      const { managedFields: _dropped, ...metadata } = obj.metadata;
      return { ...obj, metadata };
    };
    const read = await store.get(claims, 'default', 'kept');
    await door.update(claims, {
      ...strip(read),
      metadata: {
        ...strip(read).metadata,
        annotations: { ...read.metadata.annotations, 'pv.kubernetes.io/bind-completed': 'yes' },
      },
    });
    const afterSpec = await store.get(claims, 'default', 'kept');
    await door.update(
      claims,
      { ...strip(afterSpec), status: { phase: 'Bound', capacity: { storage: '1Gi' } } },
      { subresource: 'status' },
    );
    const stored = await store.get(claims, 'default', 'kept');
    const managed = (stored.metadata['managedFields'] ?? []) as Array<{
      manager: string;
      operation: string;
      subresource?: string;
      fieldsV1: Record<string, unknown>;
    }>;
    const entries = managed.map((e) => [e.manager, e.operation, e.subresource ?? ''].join(' ')).sort();
    assert.deepEqual(entries, ['berth Update ', 'berth Update status', 'kubectl-client-side-apply Update ']);
    const mine = managed.find((e) => e.manager === 'berth' && !e.subresource)?.fieldsV1 ?? {};
    assert.deepEqual(mine, {
      'f:metadata': { 'f:annotations': { 'f:pv.kubernetes.io/bind-completed': {} } },
    });
    const status = managed.find((e) => e.subresource === 'status')?.fieldsV1 ?? {};
    assert.deepEqual(Object.keys(status), ['f:status']);
    // nothing changed: nothing written, no entry's time moved
    const again = await door.update(claims, strip(stored));
    assert.equal(again.metadata.resourceVersion, stored.metadata.resourceVersion);
  });

  it("berth's REST client names itself so the API server records the same manager as the door", function () {
    assert.equal(updateManagerName(null, USER_AGENT), BERTH_FIELD_MANAGER);
  });
});
