// The RBD driver end to end on a real single-node Ceph cluster: a StorageClass and a claim become a
// CreateVolume request through the provisioner's own planning code; the volume is staged (rbd-fuse
// + loop + xfs), published, written, grown online, and its data is then read back from Ceph itself
// with `rbd export`. Also: wrong keys, deleting an image in use, and a CreateVolume abandoned mid-flight.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, promises as fs, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifests } from '../../src/api/manifests.js';
import type { PersistentVolumeClaim, StorageClass } from '../../src/api/types.js';
import { CsiClient } from '../../src/csi/client.js';
import { CsiError, status } from '../../src/csi/errors.js';
import { DRIVER_NAME, parseVolumeId, startRbdDriver } from '../../src/drivers/rbd/index.js';
import type { RbdDriverHandle } from '../../src/drivers/rbd/index.js';
import { decideCapabilities, planProvision, secretContents } from '../../src/provisioner/index.js';
import type { ProvisionPlan } from '../../src/provisioner/index.js';
import { expectCode } from '../conformance/csi-conformance.js';
import { removeTestDir } from '../conformance/host.js';
import type { CephCluster } from '../helpers/ceph.js';
import { cephUnavailable, rbdClassManifest, startCephCluster } from '../helpers/ceph.js';
import { skipUnless } from '../helpers/skip.js';

const unavailable = cephUnavailable();
const MIB = 1024n * 1024n;
const CLUSTER_ID = 'e2e';

function manifests(key: string, pool: string): string {
  return `
apiVersion: v1
kind: Secret
metadata: { name: csi-rbd-secret, namespace: default }
stringData: { userID: admin, userKey: "${key}" }
---
${rbdClassManifest({ name: 'rbd', driver: DRIVER_NAME, clusterID: CLUSTER_ID, pool, secret: 'csi-rbd-secret' })}---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data, namespace: default, uid: 6f1c1c1e-0d4b-4c51-9a50-2d1c0c8f0a11 }
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: rbd
  resources: { requests: { storage: 320Mi } }
`;
}

describe('rbd driver end to end (real ceph)', function () {
  let cluster: CephCluster;
  let dir: string;
  let driver: RbdDriverHandle;
  let client: CsiClient;
  let secret: Record<string, string>;
  let plan: ProvisionPlan;

  before(async function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    this.timeout(120_000);
    cluster = await startCephCluster();
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-rbd-e2e-'));
    const configFile = path.join(dir, 'clusters.yaml');
    // No key in the config: every call must bring its secret, as under a CO.
    writeFileSync(
      configFile,
      `- clusterID: ${CLUSTER_ID}\n  monitors: ["${cluster.monitors.join('", "')}"]\n`,
    );
    driver = await startRbdDriver({
      endpoint: `unix://${path.join(dir, 'csi.sock')}`,
      nodeId: 'e2e-node',
      configFile,
      stateDir: path.join(dir, 'state'),
    });
    client = new CsiClient(driver.socketPath, { timeoutMs: 60_000 });
    const objects = loadManifests(manifests(cluster.adminKey, cluster.pool), 'e2e.yaml');
    const [secretObject, storageClass, claim] = objects as [
      { data?: Record<string, string>; stringData?: Record<string, string> },
      StorageClass,
      PersistentVolumeClaim,
    ];
    secret = secretContents(secretObject);
    const capabilities = decideCapabilities(
      (await client.getPluginCapabilities()).capabilities,
      (await client.controllerGetCapabilities()).capabilities,
    );
    plan = planProvision({
      claim,
      storageClass,
      driverName: DRIVER_NAME,
      capabilities,
      topology: { node: () => undefined, csiNode: () => undefined, csiNodes: () => [] },
    });
  });

  after(async function () {
    this.timeout(60_000);
    client?.close();
    await driver?.shutdown();
    if (dir) {
      const leftovers = removeTestDir(dir);
      assert.deepEqual(leftovers, { mounts: [], loops: [] }, 'nothing left mounted or attached');
    }
    await cluster?.stop();
  });

  const journalKeys = async () =>
    (await cluster.run('rados', ['-p', cluster.pool, 'listomapkeys', 'csi.volumes.default']).catch(() => ''))
      .split('\n')
      .filter((line) => line !== '');

  it('class -> claim -> stage -> publish -> write -> expand online -> data in ceph -> delete', async function () {
    this.timeout(120_000);
    assert.equal(plan.provisionerSecretRef?.name, 'csi-rbd-secret');
    assert.equal(plan.volumeSecretRefs.nodeStageSecretRef?.name, 'csi-rbd-secret');
    const created = (await client.createVolume({ ...plan.request, secrets: secret })).volume!;
    const again = (await client.createVolume({ ...plan.request, secrets: secret })).volume!;
    assert.equal(again.volume_id, created.volume_id, 'CreateVolume is idempotent through the journal');
    const ref = parseVolumeId(created.volume_id)!;
    assert.deepEqual([ref.clusterID, ref.pool], [CLUSTER_ID, cluster.pool]);
    const image = `csi-vol-${ref.uuid}`;
    assert.deepEqual(await cluster.images(), [image]);
    assert.deepEqual(await journalKeys(), [`csi.volume.${plan.volumeName}`]);
    assert.equal(created.volume_context['mounter'], 'rbd-fuse');

    const capability = plan.request.volume_capabilities![0]!;
    const staging = path.join(dir, 'globalmount');
    const target = path.join(dir, 'pods', 'pod-1', 'mount');
    const base = { volume_id: created.volume_id, volume_capability: capability };
    await client.nodeStageVolume({
      ...base,
      staging_target_path: staging,
      secrets: secret,
      volume_context: created.volume_context,
    });
    await client.nodePublishVolume({ ...base, staging_target_path: staging, target_path: target });
    const payload = randomBytes(2 * 1024 * 1024);
    await fs.writeFile(path.join(target, 'payload.bin'), payload);
    await fs.writeFile(path.join(target, 'hello.txt'), 'written through berth');
    execFileSync('sync');

    await expectCode(
      client.deleteVolume({ volume_id: created.volume_id, secrets: secret }),
      status.FAILED_PRECONDITION,
      'an image in use is not removed',
    );

    const before = statfsSync(target);
    const grown = 400n * MIB;
    const expanded = await client.controllerExpandVolume({
      volume_id: created.volume_id,
      capacity_range: { required_bytes: grown.toString() },
      secrets: secret,
      volume_capability: capability,
    });
    assert.equal(BigInt(expanded.capacity_bytes), grown);
    assert.equal(expanded.node_expansion_required, true);
    await client.nodeExpandVolume({
      volume_id: created.volume_id,
      volume_path: target,
      staging_target_path: staging,
      capacity_range: { required_bytes: grown.toString() },
    });
    const after = statfsSync(target);
    assert.ok(
      after.blocks * after.bsize > before.blocks * before.bsize + 60 * 1024 * 1024,
      'xfs grew online',
    );

    await client.nodeUnpublishVolume({ volume_id: created.volume_id, target_path: target });
    await client.nodeUnstageVolume({ volume_id: created.volume_id, staging_target_path: staging });

    // The data is in Ceph: export the image and read the filesystem from the copy.
    const exported = path.join(dir, 'export.img');
    await cluster.run('rbd', ['export', '--no-progress', `${cluster.pool}/${image}`, exported], 60_000);
    assert.equal((await fs.stat(exported)).size, Number(grown));
    const check = path.join(dir, 'check');
    mkdirSync(check);
    execFileSync('mount', ['-o', 'loop,ro,nouuid', exported, check]);
    try {
      assert.deepEqual(await fs.readFile(path.join(check, 'payload.bin')), payload);
      assert.equal(await fs.readFile(path.join(check, 'hello.txt'), 'utf8'), 'written through berth');
    } finally {
      execFileSync('umount', [check]);
      rmSync(exported);
    }

    await client.deleteVolume({ volume_id: created.volume_id, secrets: secret });
    await client.deleteVolume({ volume_id: created.volume_id, secrets: secret });
    assert.deepEqual(await cluster.images(), [], 'image gone');
    assert.deepEqual(await journalKeys(), [], 'journal entry gone');
    await assert.rejects(cluster.run('rados', ['-p', cluster.pool, 'stat', `csi.volume.${ref.uuid}`]));
  });

  it('a wrong key is refused as an auth failure, and no image is made', async function () {
    const wrong = { userID: 'admin', userKey: Buffer.from(randomBytes(28)).toString('base64') };
    try {
      await client.createVolume({ ...plan.request, name: 'pvc-wrong-key', secrets: wrong });
      assert.fail('CreateVolume with a wrong key succeeded');
    } catch (err) {
      assert.ok(err instanceof CsiError);
      assert.equal(err.code, status.PERMISSION_DENIED, err.message);
      assert.match(err.details, /cephx authentication failed for client\.admin/);
      assert.ok(!err.details.includes(wrong.userKey), 'the key is not in the message');
    }
    assert.deepEqual(await cluster.images(), []);
    assert.deepEqual(await journalKeys(), []);
  });

  it('a CreateVolume the CO gave up on is finished, then deleted without leaving an image', async function () {
    this.timeout(60_000);
    const request = { ...plan.request, name: 'pvc-abandoned', secrets: secret };
    await expectCode(client.createVolume(request, { timeoutMs: 20 }), status.DEADLINE_EXCEEDED, 'first try');
    // The CO retries the same name until it learns the id (ABORTED while the first call runs).
    let id: string | undefined;
    for (let attempt = 0; attempt < 100 && !id; attempt++) {
      try {
        id = (await client.createVolume(request)).volume!.volume_id;
      } catch (err) {
        assert.ok(err instanceof CsiError && err.codeName === 'ABORTED', String(err));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.ok(id, 'the retried CreateVolume returned the volume');
    await client.deleteVolume({ volume_id: id, secrets: secret });
    assert.deepEqual(await cluster.images(), []);
    assert.deepEqual(await journalKeys(), []);
  });
});
