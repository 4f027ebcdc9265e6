// The whole storage path for one pod with every component running against one embedded store:
// PV controller (binds the claim), attach/detach controller (VolumeAttachment), attacher
// (ControllerPublish), node agent (registration, NodeStage, NodePublish) — and back down in
// Kubernetes' order: NodeUnpublish, NodeUnstage, volumesInUse cleared, detach, ControllerUnpublish.
// The mock CSI driver runs on a real unix socket; its node side creates real directories.
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K } from '../../src/api/kinds.js';
import type { Node, PersistentVolumeClaim, Pod, VolumeAttachment } from '../../src/api/types.js';
import { Attacher } from '../../src/attach-detach/attacher.js';
import { AttachDetachController } from '../../src/attach-detach/controller.js';
import { attachmentName } from '../../src/attach-detach/names.js';
import { CsiClient } from '../../src/csi/client.js';
import { EventRecorder } from '../../src/machinery/index.js';
import { NodeAgent } from '../../src/node/agent.js';
import { PvController } from '../../src/pv-controller/controller.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { newClaim, newPod, newVolume } from '../helpers/builders.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';
import { eventuallyWithin } from '../helpers/eventually.js';

const DRIVER = 'mock.csi.berth.dev';

const eventually = eventuallyWithin(10_000);

describe('lifecycle: bind, attach, stage, publish, and back down', function () {
  this.timeout(30_000);
  let dir: string;
  let store: EmbeddedStore;
  let mock: StartedMockDriver;
  let client: CsiClient;
  let pv: PvController;
  let ad: AttachDetachController;
  let attacher: Attacher;
  let agent: NodeAgent;

  before(async function () {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-lifecycle-')));
    store = await openEmbeddedStore({ dataDir: join(dir, 'data') });
    mock = await startMockDriver({ socketPath: join(dir, 'csi.sock'), name: DRIVER, nodeId: 'mock-node-1' });
    client = new CsiClient(mock.endpoint, { timeoutMs: 5000 });
    const recorder = new EventRecorder({ store, component: 'test-controllers' });
    pv = new PvController({ store, recorder, resyncMs: 1000 });
    ad = new AttachDetachController({ store, recorder, resyncMs: 1000 });
    attacher = new Attacher({ store, csi: client, driverName: DRIVER, recorder });
    agent = new NodeAgent({
      store,
      nodeName: 'node-1',
      rootDir: join(dir, 'root'),
      mountInfo: async () => [],
      heartbeatMs: 0,
      retryBaseMs: 100,
      resyncMs: 500,
      drivers: [{ name: DRIVER, endpoint: mock.endpoint }],
    });
  });

  after(async function () {
    await agent?.stop();
    await attacher?.stop();
    await ad?.stop();
    await pv?.stop();
    client?.close();
    await mock?.shutdown();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a pod on a statically provisioned CSI volume and releases it in order', async function () {
    const created = await client.createVolume({
      name: 'static-1',
      volume_capabilities: [
        {
          mount: { fs_type: 'ext4', mount_flags: [], volume_mount_group: '' },
          access_mode: { mode: 'SINGLE_NODE_WRITER' },
        },
      ],
    });
    const handle = created.volume!.volume_id;
    const volume = newVolume('pv1', '1Gi', { className: '' });
    delete volume.spec.hostPath;
    volume.spec.csi = { driver: DRIVER, volumeHandle: handle, fsType: 'ext4' };
    await store.create(K.pv, volume);
    await store.create(K.pvc, newClaim('claim1', '1Gi', { className: '' }));

    await agent.start();
    await pv.start();
    await ad.start();
    await attacher.start();

    await eventually('claim bound', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'claim1');
      return c.status?.phase === 'Bound';
    });
    await store.create(K.pod, newPod('app', ['claim1'], { nodeName: 'node-1' }));
    const running = await eventually('pod Running', async () => {
      const p = await store.get<Pod>(K.pod, 'default', 'app');
      return p.status?.phase === 'Running' ? p : undefined;
    });
    assert.ok(running.metadata.annotations?.['berth.io/volume-paths']?.includes('/mount'));
    const va = await store.get<VolumeAttachment>(K.va, undefined, attachmentName(handle, DRIVER, 'node-1'));
    assert.equal(va.status?.attached, true);
    const stage = mock.driver.callsOf('NodeStageVolume')[0]?.request as Record<string, unknown>;
    assert.deepEqual(
      stage['publish_context'],
      va.status?.attachmentMetadata,
      'publish context from the attachment',
    );

    await store.delete(K.pod, 'default', 'app');
    await eventually('attachment removed', async () => {
      try {
        await store.get(K.va, undefined, va.metadata.name ?? '');
        return false;
      } catch (err) {
        return isStatusError(err, 'NotFound');
      }
    });
    const order = mock.driver.calls
      .map((c) => c.method)
      .filter((m) =>
        [
          'ControllerPublishVolume',
          'NodeStageVolume',
          'NodePublishVolume',
          'NodeUnpublishVolume',
          'NodeUnstageVolume',
          'ControllerUnpublishVolume',
        ].includes(m),
      );
    assert.deepEqual(order, [
      'ControllerPublishVolume',
      'NodeStageVolume',
      'NodePublishVolume',
      'NodeUnpublishVolume',
      'NodeUnstageVolume',
      'ControllerUnpublishVolume',
    ]);
    const node = await store.get<Node>(K.node, undefined, 'node-1');
    assert.deepEqual(node.status?.volumesInUse ?? [], []);
    await assert.rejects(store.get(K.pod, 'default', 'app'), (err) => isStatusError(err, 'NotFound'));
  });
});
