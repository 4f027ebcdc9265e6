// Snapshots, restores and clones end to end (root): an embedded berth with a node agent and the
// local CSI driver on real loop devices, ext4 then xfs, driven through the REST API. A pod
// writes a file, the claim is snapshotted, the file changes, a restored claim shows the old
// content to a new pod, a clone of the claim in use shows the new content; deletes in every order
// leave no volume, snapshot file, loop device or mount; hostile requests get clear answers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K } from '../../src/api/kinds.js';
import type { VolumeSnapshot, VolumeSnapshotContent } from '../../src/api/snapshot-types.js';
import type { PersistentVolumeClaim } from '../../src/api/types.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../../src/cli/embedded.js';
import { RestClient } from '../../src/client/rest.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { eventOn, gone, runPodWithClaim } from '../helpers/api-e2e.js';
import { eventually } from '../helpers/eventually.js';
import { hasCommand } from '../conformance/host.js';
import { isRoot, skipUnless } from '../helpers/skip.js';
import { SNAPSHOT_API, claim, fromClaim, fromSnapshot, snapshotOf } from '../helpers/snapshot-objects.js';

const API = SNAPSHOT_API;
const NODE = 'node-1';

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isStatusError(err), String(err));
    return err.message;
  }
  assert.fail('expected a refusal');
}

for (const fsType of ['ext4', 'xfs'] as const) {
  describe(`snapshots end to end on ${fsType} (local driver, real mounts)`, function () {
    this.timeout(180_000);
    let dir: string;
    let berth: EmbeddedBerth | undefined;
    let api: RestClient;
    const cls = `local-${fsType}`;
    const dataDir = () => join(dir, 'nodes', NODE, 'local-volumes');

    before(async function () {
      skipUnless(this, isRoot, 'needs root: loop devices and mounts');
      skipUnless(
        this,
        hasCommand(`mkfs.${fsType}`) && hasCommand('fsfreeze'),
        `needs mkfs.${fsType} and fsfreeze`,
      );
      dir = await mkdtemp(join(tmpdir(), 'berth-snap-e2e-'));
      berth = await startEmbeddedBerth({
        dataDir: join(dir, 'data'),
        port: 0,
        logger: silentLogger,
        nodes: [{ name: NODE, rootDir: join(dir, 'nodes', NODE) }],
      });
      api = await RestClient.fromKubeconfig(berth.kubeconfigPath);
      await api.create(K.sc, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: cls },
        provisioner: 'local.csi.berth.io',
        volumeBindingMode: 'WaitForFirstConsumer',
        parameters: { 'csi.storage.k8s.io/fstype': fsType },
      });
      await api.create(K.vsclass, {
        apiVersion: API,
        kind: 'VolumeSnapshotClass',
        metadata: {
          name: 'local-snaps',
          annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
        },
        driver: 'local.csi.berth.io',
        deletionPolicy: 'Delete',
      });
      await api.create(K.vsclass, {
        apiVersion: API,
        kind: 'VolumeSnapshotClass',
        metadata: { name: 'local-retain' },
        driver: 'local.csi.berth.io',
        deletionPolicy: 'Retain',
      });
    });

    after(async function () {
      if (berth) {
        const store = berth.store;
        for (const p of (await store.list(K.pod)).items)
          await store.delete(K.pod, 'default', p.metadata.name ?? '').catch(() => undefined);
        for (const s of (await store.list(K.vs)).items)
          await store.delete(K.vs, 'default', s.metadata.name ?? '').catch(() => undefined);
        for (const c of (await store.list(K.pvc)).items)
          await store.delete(K.pvc, 'default', c.metadata.name ?? '').catch(() => undefined);
        await eventually('everything gone', async () => {
          const [pods, pvs, contents] = await Promise.all([
            store.list(K.pod),
            store.list(K.pv),
            store.list(K.vsc),
          ]);
          return pods.items.length + pvs.items.length + contents.items.length === 0;
        }).catch(() => undefined);
        await berth.stop();
      }
      if (dir) {
        assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'no mount left');
        assert.ok(
          !execFileSync('losetup', ['-a'], { encoding: 'utf8' }).includes(dir),
          'no loop device left',
        );
        await rm(dir, { recursive: true, force: true });
      }
    });

    const ready = (name: string) =>
      eventually(`${name} ready`, async () => {
        const s = await api.get<VolumeSnapshot>(K.vs, 'default', name);
        return s.status?.readyToUse === true ? s : undefined;
      });
    const bound = (name: string) =>
      eventually(`${name} bound`, async () => {
        const c = await api.get<PersistentVolumeClaim>(K.pvc, 'default', name);
        return c.status?.phase === 'Bound' ? c : undefined;
      });
    /** A pod that needs the claim, without waiting for it to run. */
    const startPod = (name: string, claimName: string) =>
      api.create(K.pod, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default' },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': NODE },
          containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
          volumes: [{ name: 'd', persistentVolumeClaim: { claimName } }],
        },
      });
    const deletePod = async (name: string) => {
      await api.delete(K.pod, 'default', name);
      await gone(api, K.pod, 'default', name);
    };

    it('restores the old content and clones a claim in use', async () => {
      await api.create(K.pvc, claim('data', cls, '1Gi'));
      const path = await runPodWithClaim(api, 'writer', NODE, 'data');
      writeFileSync(join(path, 'file'), 'before');

      await api.create(K.vs, snapshotOf('snap', 'data'));
      const snap = await ready('snap');
      assert.equal(snap.spec.volumeSnapshotClassName, 'local-snaps', 'the default class is filled in');
      assert.equal(snap.status?.restoreSize, '1Gi');
      assert.ok(snap.status?.creationTime);
      assert.ok(
        snap.metadata.finalizers?.includes('snapshot.storage.kubernetes.io/volumesnapshot-bound-protection'),
      );
      const content = await api.get<VolumeSnapshotContent>(
        K.vsc,
        undefined,
        snap.status.boundVolumeSnapshotContentName!,
      );
      assert.equal(content.spec.volumeSnapshotRef.uid, snap.metadata.uid);
      assert.equal(content.spec.deletionPolicy, 'Delete');
      await eventOn(api, 'snap', 'SnapshotReady', /is ready to use/);
      // the claim is free again once its snapshot is taken
      await eventually('claim released', async () => {
        const c = await api.get<PersistentVolumeClaim>(K.pvc, 'default', 'data');
        return !c.metadata.finalizers?.includes('snapshot.storage.kubernetes.io/pvc-as-source-protection');
      });

      writeFileSync(join(path, 'file'), 'after');
      await api.create(K.pvc, claim('restored', cls, '2Gi', fromSnapshot('snap')));
      await api.create(K.pvc, claim('clone', cls, '1Gi', fromClaim('data')));
      const restoredPath = await runPodWithClaim(api, 'reader', NODE, 'restored');
      const clonePath = await runPodWithClaim(api, 'clone-reader', NODE, 'clone');
      assert.equal(readFileSync(join(restoredPath, 'file'), 'utf8'), 'before');
      // restored into 2Gi from a 1Gi snapshot: the filesystem fills the larger volume
      const restoredFs = statfsSync(restoredPath);
      assert.ok(restoredFs.blocks * restoredFs.bsize > 1.5 * 2 ** 30, `${fsType} grown to the claim's size`);
      assert.equal(readFileSync(join(clonePath, 'file'), 'utf8'), 'after');
      await bound('clone');
      const source = await api.get<PersistentVolumeClaim>(K.pvc, 'default', 'data');
      assert.ok(
        !source.metadata.finalizers?.includes('provisioner.storage.kubernetes.io/cloning-protection'),
      );
      for (const pod of ['writer', 'reader', 'clone-reader']) await deletePod(pod);
    });

    it('deletes in every order without leaks or premature deletes', async () => {
      // snapshot before source
      await api.delete(K.vs, 'default', 'snap');
      await gone(api, K.vs, 'default', 'snap');
      await eventually('content gone', async () => (await api.list(K.vsc)).items.length === 0);
      // source before snapshot: the snapshot stays usable
      await api.create(K.vs, snapshotOf('snap2', 'clone'));
      await ready('snap2');
      await api.delete(K.pvc, 'default', 'clone');
      await gone(api, K.pvc, 'default', 'clone');
      await api.create(K.pvc, claim('late', cls, '1Gi', fromSnapshot('snap2')));
      await runPodWithClaim(api, 'late-reader', NODE, 'late');
      await deletePod('late-reader');
      // Retain keeps the physical snapshot and its content
      await api.create(K.vs, snapshotOf('kept', 'late', 'local-retain'));
      const kept = await ready('kept');
      await api.delete(K.vs, 'default', 'kept');
      await gone(api, K.vs, 'default', 'kept');
      const retained = await api.get<VolumeSnapshotContent>(
        K.vsc,
        undefined,
        kept.status!.boundVolumeSnapshotContentName!,
      );
      assert.equal(retained.spec.deletionPolicy, 'Retain');
      assert.equal(readdirSync(join(dataDir(), 'snapshots')).filter((n) => n.endsWith('.img')).length, 2);
      // a retained content is deleted by hand; its finalizer goes, the file stays (Retain)
      await api.delete(K.vsc, undefined, retained.metadata.name ?? '');
      await gone(api, K.vsc, undefined, retained.metadata.name ?? '');
      await api.delete(K.vs, 'default', 'snap2');
      for (const c of ['data', 'restored', 'late']) await api.delete(K.pvc, 'default', c);
      await eventually('volumes gone', async () => (await api.list(K.pv)).items.length === 0);
      await eventually('contents gone', async () => (await api.list(K.vsc)).items.length === 0);
      const images = readdirSync(dataDir()).filter((n) => n.endsWith('.img'));
      assert.deepEqual(images, [], 'no volume file left');
      const snapshots = readdirSync(join(dataDir(), 'snapshots')).filter((n) => n.endsWith('.img'));
      assert.equal(snapshots.length, 1, 'only the retained snapshot is left');
      assert.ok(existsSync(join(dataDir(), 'snapshots')));
    });

    it('answers hostile requests clearly', async () => {
      assert.match(
        await refusal(
          api.create(K.vs, {
            ...snapshotOf('both', 'x'),
            spec: { source: { persistentVolumeClaimName: 'x', volumeSnapshotContentName: 'y' } },
          }),
        ),
        /exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set/,
      );
      assert.match(
        await refusal(
          api.create(K.vsclass, {
            apiVersion: API,
            kind: 'VolumeSnapshotClass',
            metadata: {
              name: 'second-default',
              annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
            },
            driver: 'local.csi.berth.io',
            deletionPolicy: 'Delete',
          }),
        ),
        /default snapshot class: local-snaps already exists for driver: local.csi.berth.io/,
      );
      // a snapshot of a missing claim: an error in its status and an event, then calm
      await api.create(K.vs, snapshotOf('orphan', 'no-such-claim'));
      await eventOn(api, 'orphan', 'SnapshotContentCreationFailed', /PVC "no-such-claim" not found/);
      const orphan = await api.get<VolumeSnapshot>(K.vs, 'default', 'orphan');
      assert.match(orphan.status?.error?.message ?? '', /not found/);
      assert.equal(orphan.status?.readyToUse, false);
      // a restore smaller than the snapshot, and a cross-namespace source
      await api.create(K.pvc, claim('src', cls, '1Gi'));
      await runPodWithClaim(api, 'src-user', NODE, 'src');
      await api.create(K.vs, snapshotOf('s1', 'src'));
      await ready('s1');
      await api.create(K.pvc, claim('small', cls, '512Mi', fromSnapshot('s1')));
      await startPod('small-user', 'small');
      await eventOn(
        api,
        'small',
        'ProvisioningFailed',
        /is less than the size .* for the source snapshot s1/,
      );
      const elsewhere = claim('elsewhere', cls, '1Gi');
      elsewhere.spec['dataSourceRef'] = { ...fromSnapshot('s1'), namespace: 'other' };
      const refused = await api.create(K.pvc, elsewhere).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (refused === undefined) {
        await startPod('elsewhere-user', 'elsewhere');
        await eventOn(api, 'elsewhere', 'ProvisioningFailed', /another namespace/);
      } else assert.ok(isStatusError(refused, 'Invalid'), 'refused as invalid');
      // repeated create of the same snapshot: AlreadyExists, nothing new
      assert.match(await refusal(api.create(K.vs, snapshotOf('s1', 'src'))), /already exists/);
      assert.equal(
        (await api.list(K.vsc)).items.filter(
          (c) => (c as VolumeSnapshotContent).spec.volumeSnapshotRef.name === 's1',
        ).length,
        1,
      );
    });
  });
}
