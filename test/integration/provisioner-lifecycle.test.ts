// The provisioner end to end: embedded store, PV controller, provisioner, and the mock CSI driver
// on a real unix socket. Claims are provisioned, bound, released and deleted through the store only.
import assert from 'node:assert/strict';
import type { CSINode, Node, PersistentVolumeClaim, Secret, StorageClass } from '../../src/api/types.js';
import type { CreateVolumeRequest, DeleteVolumeRequest } from '../../src/csi/types.js';
import { JsonLogger } from '../../src/machinery/logger.js';
import {
  ANN_DELETION_SECRET_NAME,
  ANN_PROVISIONING,
  ATTR_PROVISIONER_IDENTITY,
  FINALIZER_EXTERNAL_PROVISIONER,
  FINALIZER_PROVISIONING,
} from '../../src/volume/provisioning-names.js';
import { ANN_DYNAMICALLY_PROVISIONED, ANN_SELECTED_NODE } from '../../src/volume/annotations.js';
import { newClaim, newClass } from '../helpers/builders.js';
import { PROVISIONING_PATIENCE_MS } from '../../src/provisioner/provisioning.js';
import { DRIVER, K, World, waitFor } from '../unit/provisioner/harness.js';

function driverClass(name: string, extra: Partial<StorageClass> = {}): StorageClass {
  return { ...newClass(name, { provisioner: DRIVER }), ...extra };
}

async function bound(world: World, name: string): Promise<PersistentVolumeClaim> {
  return waitFor(`claim ${name} Bound`, async () => {
    const c = await world.claim(name);
    return c?.status?.phase === 'Bound' ? c : undefined;
  });
}

describe('provisioner with the PV controller and a mock CSI driver', function () {
  let world: World;

  afterEach(async function () {
    await world.stop();
  });

  it('a slow CreateVolume is reported (Provisioning), and then its success (ProvisioningSucceeded)', async function () {
    world = await new World().start();
    await world.create(K.storageClass, driverClass('fast'));
    world.driver.driver.faults.push('CreateVolume', { kind: 'delay', ms: PROVISIONING_PATIENCE_MS + 500 });
    const claim = await world.create(K.claim, newClaim('slow', '1Gi', { className: 'fast' }));
    await bound(world, 'slow');
    await world.flushEvents();
    const told = (await world.events()).filter((e) => e.involvedObject.name === 'slow');
    assert.deepEqual(
      told.map((e) => e.reason ?? '').filter((r) => r.startsWith('Provisioning')),
      ['Provisioning', 'ProvisioningSucceeded'],
    );
    assert.equal(
      told.find((e) => e.reason === 'ProvisioningSucceeded')?.message,
      `Successfully provisioned volume pvc-${claim.metadata.uid ?? ''}`,
    );
  });

  it('provisions an Immediate claim: CreateVolume, PV pvc-<uid> pre-bound, claim Bound', async function () {
    world = await new World().start();
    await world.create(
      K.storageClass,
      driverClass('fast', { mountOptions: ['noatime'], reclaimPolicy: 'Delete' }),
    );
    await world.create(K.storageClass, {
      ...driverClass('fast-params'),
      parameters: { type: 'ssd', 'csi.storage.k8s.io/fstype': 'xfs' },
    });
    const claim = await world.create(K.claim, newClaim('data', '2Gi', { className: 'fast' }));
    const uid = claim.metadata.uid ?? '';
    const done = await bound(world, 'data');
    assert.equal(done.spec.volumeName, `pvc-${uid}`);

    const pv = await world.volume(`pvc-${uid}`);
    assert.ok(pv);
    assert.equal(pv.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED], DRIVER);
    assert.ok(pv.metadata.finalizers?.includes(FINALIZER_EXTERNAL_PROVISIONER));
    assert.equal(pv.spec.capacity?.storage, '2Gi');
    assert.deepEqual(pv.spec.accessModes, ['ReadWriteOnce']);
    assert.equal(pv.spec.volumeMode, 'Filesystem');
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.deepEqual(pv.spec.mountOptions, ['noatime']);
    assert.equal(pv.spec.storageClassName, 'fast');
    assert.deepEqual(
      { ...pv.spec.claimRef },
      { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'default', name: 'data', uid },
    );
    const backend = world.driver.driver.volumes();
    assert.equal(backend.length, 1);
    assert.equal(pv.spec.csi?.driver, DRIVER);
    assert.equal(pv.spec.csi?.volumeHandle, backend[0]?.id);
    assert.equal(pv.spec.csi?.fsType, 'ext4');
    assert.equal(pv.spec.csi?.volumeAttributes?.['mock.csi.berth.dev/name'], `pvc-${uid}`);
    assert.match(pv.spec.csi?.volumeAttributes?.[ATTR_PROVISIONER_IDENTITY] ?? '', new RegExp(`-${DRIVER}$`));

    const request = world.driver.driver.callsOf('CreateVolume')[0]?.request as CreateVolumeRequest;
    assert.equal(request.name, `pvc-${uid}`);
    assert.equal(request.capacity_range?.required_bytes, String(2 * 1024 ** 3));
    assert.equal(request.volume_capabilities[0]?.mount?.fs_type, 'ext4');
    assert.deepEqual(request.volume_capabilities[0]?.mount?.mount_flags, ['noatime']);
    assert.equal(request.volume_capabilities[0]?.access_mode?.mode, 'SINGLE_NODE_WRITER');
    assert.equal(request.accessibility_requirements, null);

    // The in-flight record is gone once the volume exists.
    const after = await world.claim('data');
    assert.equal(after?.metadata.annotations?.[ANN_PROVISIONING], undefined);
    assert.ok(!(after?.metadata.finalizers ?? []).includes(FINALIZER_PROVISIONING));

    // A provisioning that answered at once is not reported: its claim is Bound, its PV Bound from the start.
    assert.equal(pv.status?.phase, 'Bound');
    await world.flushEvents();
    const events = (await world.events())
      .filter((e) => e.involvedObject.name === 'data')
      .map((e) => e.reason);
    assert.ok(!events.includes('Provisioning') && !events.includes('ProvisioningSucceeded'), events.join());

    // Parameters reach the driver without the csi.storage.k8s.io/ keys; fsType from the class.
    const block = await world.create(
      K.claim,
      newClaim('raw', '1Gi', { className: 'fast-params', volumeMode: 'Block' }),
    );
    const xfs = await world.create(
      K.claim,
      newClaim('xfs', '1Gi', { className: 'fast-params', accessModes: ['ReadWriteMany'] }),
    );
    await bound(world, 'raw');
    await bound(world, 'xfs');
    const requests = world.driver.driver.callsOf('CreateVolume').map((c) => c.request as CreateVolumeRequest);
    const rawRequest = requests.find((r) => r.name === `pvc-${block.metadata.uid ?? ''}`);
    const xfsRequest = requests.find((r) => r.name === `pvc-${xfs.metadata.uid ?? ''}`);
    assert.deepEqual(rawRequest?.parameters, {
      type: 'ssd',
      'csi.storage.k8s.io/pvc/name': 'raw',
      'csi.storage.k8s.io/pvc/namespace': 'default',
      'csi.storage.k8s.io/pv/name': `pvc-${block.metadata.uid ?? ''}`,
    });
    assert.equal(rawRequest?.volume_capabilities[0]?.access_type, 'block');
    assert.equal(xfsRequest?.volume_capabilities[0]?.mount?.fs_type, 'xfs');
    assert.equal(xfsRequest?.volume_capabilities[0]?.access_mode?.mode, 'MULTI_NODE_MULTI_WRITER');
    const rawPv = await world.volume(`pvc-${block.metadata.uid ?? ''}`);
    assert.equal(rawPv?.spec.volumeMode, 'Block');
    assert.equal(rawPv?.spec.csi?.fsType, undefined);
  });

  it('waits for the selected node of a WaitForFirstConsumer claim, then asks for its topology', async function () {
    world = await new World({ driver: { topology: { 'topology.mock/zone': 'z1' } } }).start();
    for (const [name, zone] of [
      ['n1', 'z1'],
      ['n2', 'z2'],
    ] as const) {
      await world.create<Node>(K.node, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.mock/zone': zone } },
      });
      await world.create<CSINode>(K.csiNode, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSINode',
        metadata: { name },
        spec: { drivers: [{ name: DRIVER, nodeID: name, topologyKeys: ['topology.mock/zone'] }] },
      });
    }
    await world.create(K.storageClass, {
      ...newClass('local', { provisioner: DRIVER, bindingMode: 'WaitForFirstConsumer' }),
    });
    const claim = await world.create(K.claim, newClaim('wffc', '1Gi', { className: 'local' }));
    await world.pvController?.whenIdle();
    await world.provisioner?.whenIdle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(
      world.driver.driver.callsOf('CreateVolume').length,
      0,
      'no CreateVolume before a node is selected',
    );

    // What the scheduler does when it places the claim's pod on n2.
    await world.store.patch(K.claim, 'default', 'wffc', {
      metadata: { annotations: { [ANN_SELECTED_NODE]: 'n2' } },
    });
    await bound(world, 'wffc');
    const request = world.driver.driver.callsOf('CreateVolume')[0]?.request as CreateVolumeRequest;
    assert.deepEqual(request.accessibility_requirements?.requisite, [
      { segments: { 'topology.mock/zone': 'z1' } },
      { segments: { 'topology.mock/zone': 'z2' } },
    ]);
    assert.deepEqual(request.accessibility_requirements?.preferred[0], {
      segments: { 'topology.mock/zone': 'z2' },
    });
    const pv = await world.volume(`pvc-${claim.metadata.uid ?? ''}`);
    assert.deepEqual(pv?.spec.nodeAffinity?.required, {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: 'topology.mock/zone', operator: 'In', values: ['z2'] }] },
      ],
    });
  });

  it('templates secrets, passes them to CreateVolume and DeleteVolume, and never logs them', async function () {
    const lines: string[] = [];
    const log = new JsonLogger({ write: (line: string) => lines.push(line) }, { level: 'debug' });
    const csiLog: unknown[] = [];
    world = await new World({ log, csiClient: { logger: (entry) => csiLog.push(entry) } }).start();
    const secret = (name: string, namespace: string, password: string): Secret => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace },
      data: { password: Buffer.from(password).toString('base64') },
    });
    await world.create(K.secret, secret('prov-team-a', 'team-a', 'hunter2-provision'));
    await world.create(K.secret, secret('stage-db', 'team-a', 'hunter2-stage'));
    await world.create(K.storageClass, {
      ...driverClass('secret-class'),
      parameters: {
        pool: 'p1',
        'csi.storage.k8s.io/provisioner-secret-name': 'prov-${pvc.namespace}',
        'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}',
        'csi.storage.k8s.io/node-stage-secret-name': "${pvc.annotations['team/secret']}",
        'csi.storage.k8s.io/node-stage-secret-namespace': '${pvc.namespace}',
        'csi.storage.k8s.io/node-publish-secret-name': 'publish-${pv.name}',
        'csi.storage.k8s.io/node-publish-secret-namespace': 'shared',
        'csi.storage.k8s.io/controller-publish-secret-name': '${pvc.name}-attach',
        'csi.storage.k8s.io/controller-publish-secret-namespace': 'team-a',
        'csi.storage.k8s.io/controller-expand-secret-name': 'expand',
        'csi.storage.k8s.io/controller-expand-secret-namespace': 'team-a',
      },
    });
    const claim = await world.create(
      K.claim,
      newClaim('db', '1Gi', {
        namespace: 'team-a',
        className: 'secret-class',
        annotations: { 'team/secret': 'stage-db' },
      }),
    );
    const uid = claim.metadata.uid ?? '';
    await waitFor('claim bound', async () => (await world.claim('db', 'team-a'))?.status?.phase === 'Bound');

    const request = world.driver.driver.callsOf('CreateVolume')[0]?.request as CreateVolumeRequest;
    assert.deepEqual(request.secrets, { password: 'hunter2-provision' });
    assert.deepEqual(request.parameters, {
      pool: 'p1',
      'csi.storage.k8s.io/pvc/name': 'db',
      'csi.storage.k8s.io/pvc/namespace': 'team-a',
      'csi.storage.k8s.io/pv/name': `pvc-${uid}`,
    });
    const pv = await world.volume(`pvc-${uid}`);
    assert.deepEqual({ ...pv?.spec.csi?.nodeStageSecretRef }, { name: 'stage-db', namespace: 'team-a' });
    assert.deepEqual(
      { ...pv?.spec.csi?.nodePublishSecretRef },
      { name: `publish-pvc-${uid}`, namespace: 'shared' },
    );
    assert.deepEqual(
      { ...pv?.spec.csi?.controllerPublishSecretRef },
      { name: 'db-attach', namespace: 'team-a' },
    );
    assert.deepEqual({ ...pv?.spec.csi?.controllerExpandSecretRef }, { name: 'expand', namespace: 'team-a' });
    assert.equal(pv?.metadata.annotations?.[ANN_DELETION_SECRET_NAME], 'prov-team-a');

    // Deleting the claim releases the volume; DeleteVolume gets the provisioner secret too.
    await world.store.delete(K.claim, 'team-a', 'db');
    await waitFor('volume gone', async () => (await world.volume(`pvc-${uid}`)) === undefined);
    const deletion = world.driver.driver.callsOf('DeleteVolume')[0]?.request as DeleteVolumeRequest;
    assert.deepEqual(deletion.secrets, { password: 'hunter2-provision' });

    const logged = JSON.stringify(csiLog) + lines.join('');
    assert.ok(lines.length > 0 && csiLog.length > 0, 'something was logged');
    assert.ok(!logged.includes('hunter2'), 'no secret value in any log');
    const events = JSON.stringify(await world.events());
    assert.ok(!events.includes('hunter2'), 'no secret value in any event');
  });

  it('deletes the backend volume and the PV once the claim is deleted', async function () {
    world = await new World().start();
    await world.create(K.storageClass, driverClass('fast'));
    await world.create(K.storageClass, driverClass('keep', { reclaimPolicy: 'Retain' }));
    const claim = await world.create(K.claim, newClaim('scratch', '1Gi', { className: 'fast' }));
    const kept = await world.create(K.claim, newClaim('kept', '1Gi', { className: 'keep' }));
    await bound(world, 'scratch');
    await bound(world, 'kept');
    assert.equal(world.driver.driver.volumes().length, 2);

    await world.store.delete(K.claim, 'default', 'scratch');
    await world.store.delete(K.claim, 'default', 'kept');
    await waitFor(
      'volume deleted',
      async () => (await world.volume(`pvc-${claim.metadata.uid ?? ''}`)) === undefined,
    );
    const retained = await waitFor('retained volume released', async () => {
      const pv = await world.volume(`pvc-${kept.metadata.uid ?? ''}`);
      return pv?.status?.phase === 'Released' &&
        !(pv.metadata.finalizers ?? []).includes(FINALIZER_EXTERNAL_PROVISIONER)
        ? pv
        : undefined;
    });
    assert.equal(retained.spec.persistentVolumeReclaimPolicy, 'Retain');
    const left = world.driver.driver.volumes();
    assert.equal(left.length, 1, 'only the Retain volume is left in the backend');
    assert.equal(left[0]?.id, retained.spec.csi?.volumeHandle);
    assert.equal(world.driver.driver.callsOf('DeleteVolume').length, 1);
  });

  it('retries a failed DeleteVolume with a VolumeFailedDelete event', async function () {
    world = await new World({ provisioner: { retryBaseMs: 50 } }).start();
    await world.create(K.storageClass, driverClass('fast'));
    const claim = await world.create(K.claim, newClaim('flaky', '1Gi', { className: 'fast' }));
    await bound(world, 'flaky');
    world.driver.driver.faults.push('DeleteVolume', { kind: 'error', code: 13, message: 'backend busy' });
    await world.store.delete(K.claim, 'default', 'flaky');
    await waitFor(
      'volume deleted',
      async () => (await world.volume(`pvc-${claim.metadata.uid ?? ''}`)) === undefined,
    );
    const failed = await world.events('VolumeFailedDelete');
    assert.equal(failed.length, 1);
    assert.match(failed[0]?.message ?? '', /backend busy/);
    assert.equal(world.driver.driver.callsOf('DeleteVolume').length, 2);
    assert.equal(world.driver.driver.volumes().length, 0);
  });
});
