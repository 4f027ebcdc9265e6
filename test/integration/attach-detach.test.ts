// Attach/detach end to end on the embedded store: the A/D controller creates VolumeAttachments
// for scheduled pods, the attacher publishes them through a mock CSI driver over a real unix
// socket, and detach waits until the node stops reporting the volume in use.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attacher } from '../../src/attach-detach/attacher.js';
import { AttachDetachController } from '../../src/attach-detach/controller.js';
import { attachmentName } from '../../src/attach-detach/names.js';
import { K } from '../../src/api/kinds.js';
import type { CSINode, Event, Node, PersistentVolume, Pod, VolumeAttachment } from '../../src/api/types.js';
import { CsiClient } from '../../src/csi/client.js';
import { EventRecorder, JsonLogger } from '../../src/machinery/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { newClaim, newPod, newVolume } from '../helpers/builders.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';
import { eventually } from '../helpers/eventually.js';

const driverName = 'mock.csi.berth.io';

describe('attach/detach with the attacher sidecar (mock CSI driver)', function () {
  let dir: string;
  let store: EmbeddedStore;
  let mock: StartedMockDriver;
  let client: CsiClient;
  let ad: AttachDetachController;
  let attacher: Attacher;
  let volumeHandle = '';

  async function setup(publishUnpublish: boolean): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), 'berth-ad-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'data') });
    mock = await startMockDriver({
      socketPath: join(dir, 'csi.sock'),
      name: driverName,
      nodeId: 'csi-node-1',
      publishUnpublish,
    });
    client = new CsiClient(mock.endpoint, { timeoutMs: 5000 });
    const recorder = new EventRecorder({ store, component: 'attachdetach-controller' });
    ad = new AttachDetachController({ store, recorder });
    attacher = new Attacher({
      store,
      csi: client,
      driverName,
      recorder,
      ...(process.env['DEBUG_AD']
        ? {
            log: new JsonLogger(
              { write: (l: string) => process.stderr.write(l + '\n') },
              {
                level: 'debug',
              },
            ),
          }
        : {}),
    });
    for (const node of ['node-1', 'node-2']) {
      await store.create<Node>(K.node, { apiVersion: 'v1', kind: 'Node', metadata: { name: node } });
      await store.create<CSINode>(K.csinode, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSINode',
        metadata: { name: node },
        spec: { drivers: [{ name: driverName, nodeID: `csi-${node}` }] },
      });
    }
    const created = await client.createVolume({
      name: 'pvc-uid-claim1',
      volume_capabilities: [
        {
          mount: { fs_type: 'ext4', mount_flags: [], volume_mount_group: '' },
          access_mode: { mode: 'SINGLE_NODE_WRITER' },
        },
      ],
    });
    volumeHandle = created.volume!.volume_id;
    const pv = newVolume('pv1', '1Gi', { claim: { name: 'claim1', uid: 'uid-claim1' }, phase: 'Bound' });
    delete pv.spec.hostPath;
    pv.spec.csi = { driver: driverName, volumeHandle, fsType: 'ext4' };
    await store.create(K.pv, pv);
    await store.create(K.pvc, newClaim('claim1', '1Gi', { volumeName: 'pv1', phase: 'Bound' }));
    await ad.start();
    await attacher.start();
  }

  afterEach(async function () {
    await attacher?.stop();
    await ad?.stop();
    client?.close();
    await mock?.shutdown();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function schedule(name: string, node: string): Pod {
    const pod = newPod(name, ['claim1']);
    pod.spec.nodeName = node;
    return pod;
  }

  it('attaches, refuses a second RWO node, and detaches only after the node stops using it', async function () {
    await setup(true);
    await store.create(K.pod, schedule('p1', 'node-1'));
    const vaName = attachmentName(volumeHandle, driverName, 'node-1');
    const attached = await eventually('attached', async () => {
      const va = await store.get<VolumeAttachment>(K.va, undefined, vaName);
      return va.status?.attached ? va : undefined;
    });
    assert.deepEqual(attached.spec, {
      attacher: driverName,
      nodeName: 'node-1',
      source: { persistentVolumeName: 'pv1' },
    });
    assert.ok(attached.metadata.finalizers?.includes('external-attacher/mock-csi-berth-io'));
    assert.equal(attached.metadata.annotations?.['csi.alpha.kubernetes.io/node-id'], 'csi-node-1');
    const publish = mock.driver.callsOf('ControllerPublishVolume');
    assert.equal(publish.length, 1);
    assert.equal((publish[0]!.request as { node_id: string }).node_id, 'csi-node-1');
    const pv = await store.get<PersistentVolume>(K.pv, undefined, 'pv1');
    assert.ok(pv.metadata.finalizers?.includes('external-attacher/mock-csi-berth-io'));

    // a second pod on another node: RWO → Multi-Attach event, no attachment
    await store.create(K.pod, schedule('p2', 'node-2'));
    await eventually('Multi-Attach event', async () => {
      const events = await store.list<Event>(K.event, { namespace: 'default' });
      return events.items.some(
        (e) =>
          e.reason === 'FailedAttachVolume' &&
          e.involvedObject.name === 'p2' &&
          /Multi-Attach/.test(e.message ?? ''),
      );
    });
    await store.delete(K.pod, 'default', 'p2');

    // node reports the volume in use; deleting the pod does not detach yet
    await store.patch(
      K.node,
      undefined,
      'node-1',
      { status: { volumesInUse: [`kubernetes.io/csi/${driverName}^${volumeHandle}`] } },
      { subresource: 'status' },
    );
    await store.delete(K.pod, 'default', 'p1');
    await new Promise((r) => setTimeout(r, 300));
    await ad.whenIdle();
    const still = await store.get<VolumeAttachment>(K.va, undefined, vaName);
    assert.equal(still.metadata.deletionTimestamp, undefined);

    // the node unmounted it: the attachment goes, ControllerUnpublish is called, the VA is gone
    await store.patch(
      K.node,
      undefined,
      'node-1',
      { status: { volumesInUse: [] } },
      { subresource: 'status' },
    );
    await eventually('VolumeAttachment gone', async () => {
      try {
        await store.get(K.va, undefined, vaName);
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(mock.driver.callsOf('ControllerUnpublishVolume').length, 1);
  });

  it('marks attachments of a driver without PUBLISH_UNPUBLISH attached without calling it', async function () {
    await setup(false);
    await store.create(K.pod, schedule('p1', 'node-1'));
    const vaName = attachmentName(volumeHandle, driverName, 'node-1');
    await eventually(
      'attached',
      async () => (await store.get<VolumeAttachment>(K.va, undefined, vaName)).status?.attached,
    );
    assert.equal(mock.driver.callsOf('ControllerPublishVolume').length, 0);
  });

  it('records attachError on a driver error and succeeds on retry', async function () {
    await setup(true);
    mock.driver.faults.push('ControllerPublishVolume', { kind: 'error', code: 9, message: 'disk busy' });
    await store.create(K.pod, schedule('p1', 'node-1'));
    const vaName = attachmentName(volumeHandle, driverName, 'node-1');
    await eventually('attachError', async () => {
      const va = await store.get<VolumeAttachment>(K.va, undefined, vaName);
      return va.status?.attachError?.message?.includes('disk busy') || va.status?.attached;
    });
    const va = await eventually(
      'attached after retry',
      async () => {
        const v = await store.get<VolumeAttachment>(K.va, undefined, vaName);
        return v.status?.attached ? v : undefined;
      },
      8000,
    );
    assert.equal(va.status?.attachError, undefined);
    assert.equal(mock.driver.callsOf('ControllerPublishVolume').length, 2);
  });
});
