// The snapshot part of the CSI conformance suite (csi-sanity's snapshot ground): CreateSnapshot,
// DeleteSnapshot, ListSnapshots and CreateVolume from a snapshot or a volume, for every driver that
// advertises them. Data checks write through a published volume, unmount (so the data is on the
// backend, as an application-consistent snapshot would have it), snapshot, change, restore.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CsiClient } from '../../src/csi/client.js';
import { status } from '../../src/csi/errors.js';
import type { ControllerRpcType, PartialMessage, Snapshot, VolumeCapability } from '../../src/csi/types.js';
import { skipUnless } from '../helpers/skip.js';
import { expectCode as expectStatus } from './expect-code.js';
import type { ConformanceResources } from './resources.js';

/** What the snapshot cases borrow from the suite around them (read when a test runs). */
export interface SnapshotSuiteEnv {
  client: CsiClient;
  resources: ConformanceResources;
  controllerRpcs: ReadonlySet<string>;
  nodeRpcs: ReadonlySet<string>;
  capability: PartialMessage<VolumeCapability>;
  capabilities: PartialMessage<VolumeCapability>[];
  params: Record<string, string>;
  volumeBytes: bigint;
  isBlock: boolean;
  uniqueName(label: string): string;
  createVolume(label: string): Promise<string>;
  stagingPath(label: string): string;
  targetPath(label: string): string;
  unknownVolumeId: string;
}

/** Runs `use` with the volume published at a fresh target (staged first when the driver stages), then undoes both. */
async function withPublished<T>(
  env: SnapshotSuiteEnv,
  volumeId: string,
  use: (dir: string) => Promise<T>,
): Promise<T> {
  const { client, resources, capability } = env;
  const staging = env.stagingPath('snap');
  const target = env.targetPath('snap');
  const stages = env.nodeRpcs.has('STAGE_UNSTAGE_VOLUME');
  if (stages) {
    resources.stage(volumeId, staging);
    await client.nodeStageVolume({
      volume_id: volumeId,
      staging_target_path: staging,
      volume_capability: capability,
    });
  }
  resources.publish(volumeId, target);
  await client.nodePublishVolume({
    volume_id: volumeId,
    staging_target_path: stages ? staging : '',
    target_path: target,
    volume_capability: capability,
  });
  try {
    return await use(target);
  } finally {
    await client.nodeUnpublishVolume({ volume_id: volumeId, target_path: target });
    resources.forgetPublish(target);
    if (stages) {
      await client.nodeUnstageVolume({ volume_id: volumeId, staging_target_path: staging });
      resources.forgetStage(staging);
    }
  }
}

const writeFile = (env: SnapshotSuiteEnv, id: string, text: string) =>
  withPublished(env, id, (dir) => fs.writeFile(path.join(dir, 'data.txt'), text));
const readFile = (env: SnapshotSuiteEnv, id: string) =>
  withPublished(env, id, (dir) => fs.readFile(path.join(dir, 'data.txt'), 'utf8'));

export function describeSnapshotConformance(env: () => SnapshotSuiteEnv): void {
  const needs = (ctx: Mocha.Context, ...rpcs: ControllerRpcType[]) => {
    for (const rpc of rpcs)
      skipUnless(ctx, env().controllerRpcs.has(rpc), `driver lacks controller capability ${rpc}`);
  };
  const canWriteData = (ctx: Mocha.Context) =>
    skipUnless(ctx, !env().isBlock && env().nodeRpcs.size > 0, 'needs a mount volume to write data through');

  async function snapshot(
    label: string,
    sourceId: string,
    name = env().uniqueName(label),
  ): Promise<Snapshot> {
    const response = await env().client.createSnapshot({ name, source_volume_id: sourceId });
    const snap = response.snapshot;
    assert.ok(snap?.snapshot_id, 'CreateSnapshot returns a snapshot id');
    env().resources.snapshot(snap.snapshot_id);
    return snap;
  }

  async function createFrom(
    label: string,
    source: { snapshot: { snapshot_id: string } } | { volume: { volume_id: string } },
  ): Promise<string> {
    const { client, resources } = env();
    const response = await client.createVolume({
      name: env().uniqueName(label),
      capacity_range: { required_bytes: env().volumeBytes.toString() },
      volume_capabilities: env().capabilities,
      parameters: env().params,
      volume_content_source: source,
    });
    const volume = response.volume;
    assert.ok(volume?.volume_id, 'CreateVolume returns a volume id');
    resources.volume(volume.volume_id);
    const bytes = BigInt(volume.capacity_bytes);
    assert.ok(bytes === 0n || bytes >= env().volumeBytes, `capacity ${bytes} >= ${env().volumeBytes}`);
    assert.deepEqual(
      volume.content_source?.snapshot?.snapshot_id ?? volume.content_source?.volume?.volume_id,
      'snapshot' in source ? source.snapshot.snapshot_id : source.volume.volume_id,
      'the response names its content source',
    );
    return volume.volume_id;
  }

  async function listAll(request: { source_volume_id?: string; snapshot_id?: string; max_entries?: number }) {
    const ids: string[] = [];
    let token = '';
    for (let page = 0; page < 1000; page++) {
      const response = await env().client.listSnapshots({ ...request, starting_token: token });
      if (request.max_entries)
        assert.ok(response.entries.length <= request.max_entries, 'page within max_entries');
      for (const entry of response.entries) ids.push(entry.snapshot!.snapshot_id);
      token = response.next_token;
      if (!token) return ids;
    }
    assert.fail('ListSnapshots never ended its pages');
  }

  describe('Snapshots', function () {
    describe('CreateSnapshot', function () {
      beforeEach(function () {
        needs(this, 'CREATE_DELETE_SNAPSHOT');
      });

      it('fails with INVALID_ARGUMENT without a name or a source volume id', async function () {
        const { client } = env();
        const source = await env().createVolume('snap-args');
        await expectStatus(client.createSnapshot({ source_volume_id: source }), status.INVALID_ARGUMENT);
        await expectStatus(
          client.createSnapshot({ name: env().uniqueName('snap') }),
          status.INVALID_ARGUMENT,
        );
      });

      it('is idempotent: the same name and source twice gives the same snapshot', async function () {
        const source = await env().createVolume('snap-idem');
        const name = env().uniqueName('snap-idem');
        const first = await snapshot('snap-idem', source, name);
        const second = await snapshot('snap-idem', source, name);
        assert.equal(second.snapshot_id, first.snapshot_id);
        assert.equal(first.source_volume_id, source);
        assert.ok(BigInt(first.size_bytes) >= 0n, 'size_bytes');
        assert.ok(Number(first.creation_time?.seconds ?? 0) > 0, 'creation_time is set');
        assert.equal(second.creation_time?.seconds, first.creation_time?.seconds, 'the same creation time');
      });

      it('fails with ALREADY_EXISTS for the same name with another source', async function () {
        const one = await env().createVolume('snap-src-a');
        const other = await env().createVolume('snap-src-b');
        const name = env().uniqueName('snap-conflict');
        await snapshot('snap-conflict', one, name);
        await expectStatus(
          env().client.createSnapshot({ name, source_volume_id: other }),
          status.ALREADY_EXISTS,
        );
      });

      it('fails with NOT_FOUND for a source volume that does not exist (or no longer does)', async function () {
        const { client, resources } = env();
        await expectStatus(
          client.createSnapshot({
            name: env().uniqueName('snap-missing'),
            source_volume_id: env().unknownVolumeId,
          }),
          status.NOT_FOUND,
          'unknown id',
        );
        const gone = await env().createVolume('snap-gone');
        await client.deleteVolume({ volume_id: gone });
        resources.forgetVolume(gone);
        await expectStatus(
          client.createSnapshot({ name: env().uniqueName('snap-gone'), source_volume_id: gone }),
          status.NOT_FOUND,
          'deleted volume',
        );
      });
    });

    describe('DeleteSnapshot', function () {
      beforeEach(function () {
        needs(this, 'CREATE_DELETE_SNAPSHOT');
      });

      it('fails with INVALID_ARGUMENT without a snapshot id', async function () {
        await expectStatus(env().client.deleteSnapshot({}), status.INVALID_ARGUMENT);
      });

      it('succeeds for an unknown snapshot id', async function () {
        await env().client.deleteSnapshot({ snapshot_id: 'csi-conformance-snapshot-that-does-not-exist' });
      });

      it('is idempotent: deleting twice succeeds, and the snapshot is gone from the list', async function () {
        const source = await env().createVolume('snap-del');
        const snap = await snapshot('snap-del', source);
        await env().client.deleteSnapshot({ snapshot_id: snap.snapshot_id });
        await env().client.deleteSnapshot({ snapshot_id: snap.snapshot_id });
        env().resources.forgetSnapshot(snap.snapshot_id);
        if (env().controllerRpcs.has('LIST_SNAPSHOTS')) {
          assert.deepEqual(await listAll({ snapshot_id: snap.snapshot_id }), []);
        }
      });
    });

    describe('ListSnapshots', function () {
      beforeEach(function () {
        needs(this, 'CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS');
      });

      it('finds a snapshot by its id and by its source volume, and nothing for unknown ids', async function () {
        const source = await env().createVolume('list-src');
        const other = await env().createVolume('list-other');
        const snap = await snapshot('list', source);
        const unrelated = await snapshot('list-unrelated', other);
        assert.ok((await listAll({})).includes(snap.snapshot_id), 'an unfiltered list has it');
        const byId = await env().client.listSnapshots({ snapshot_id: snap.snapshot_id });
        assert.deepEqual(
          byId.entries.map((entry) => [entry.snapshot?.snapshot_id, entry.snapshot?.source_volume_id]),
          [[snap.snapshot_id, source]],
        );
        assert.equal(byId.entries[0]?.snapshot?.ready_to_use, true, 'ready to use');
        const bySource = await listAll({ source_volume_id: source });
        assert.deepEqual(bySource, [snap.snapshot_id]);
        assert.ok(!bySource.includes(unrelated.snapshot_id));
        assert.deepEqual(await listAll({ snapshot_id: 'csi-conformance-snapshot-that-does-not-exist' }), []);
        assert.deepEqual(await listAll({ source_volume_id: env().unknownVolumeId }), []);
      });

      it('pages with max_entries and next_token, each snapshot once', async function () {
        const source = await env().createVolume('page-src');
        const made: string[] = [];
        for (let i = 0; i < 3; i++) made.push((await snapshot('page', source)).snapshot_id);
        const paged = await listAll({ source_volume_id: source, max_entries: 1 });
        assert.deepEqual([...paged].sort(), [...made].sort());
        const all = await listAll({ max_entries: 2 });
        assert.equal(new Set(all).size, all.length, 'no snapshot twice across pages');
        for (const id of made) assert.ok(all.includes(id), `${id} is on some page`);
      });

      it('refuses a negative max_entries (INVALID_ARGUMENT) and a token it never gave (ABORTED)', async function () {
        await expectStatus(env().client.listSnapshots({ max_entries: -1 }), status.INVALID_ARGUMENT);
        await expectStatus(
          env().client.listSnapshots({ starting_token: 'not-a-token-of-this-driver' }),
          status.ABORTED,
        );
      });
    });

    describe('CreateVolume from a content source', function () {
      it('restores a snapshot: the new volume holds the data as it was when the snapshot was taken', async function () {
        needs(this, 'CREATE_DELETE_SNAPSHOT');
        canWriteData(this);
        const source = await env().createVolume('restore-src');
        await writeFile(env(), source, 'before the snapshot');
        const snap = await snapshot('restore', source);
        await writeFile(env(), source, 'after the snapshot');
        const restored = await createFrom('restored', { snapshot: { snapshot_id: snap.snapshot_id } });
        assert.equal(await readFile(env(), restored), 'before the snapshot');
        assert.equal(await readFile(env(), source), 'after the snapshot');
      });

      it('clones a volume: the clone holds the source data and lives on its own', async function () {
        needs(this, 'CLONE_VOLUME');
        canWriteData(this);
        const source = await env().createVolume('clone-src');
        await writeFile(env(), source, 'cloned content');
        const clone = await createFrom('clone', { volume: { volume_id: source } });
        await writeFile(env(), clone, 'changed in the clone');
        assert.equal(await readFile(env(), source), 'cloned content');
        assert.equal(await readFile(env(), clone), 'changed in the clone');
      });

      it('clones a volume while it is published, and the clone outlives its source', async function () {
        needs(this, 'CLONE_VOLUME');
        canWriteData(this);
        const { client, resources } = env();
        const source = await env().createVolume('inuse-src');
        const clone = await withPublished(env(), source, async (dir) => {
          // Flushed as a database would before a backup; the filesystem itself stays mounted.
          const handle = await fs.open(path.join(dir, 'data.txt'), 'w');
          await handle.writeFile('written while in use');
          await handle.sync();
          await handle.close();
          return createFrom('inuse-clone', { volume: { volume_id: source } });
        });
        // Source before clone: a driver whose clones share blocks copies them first, then lets go.
        await eventuallyDeleted(() => client.deleteVolume({ volume_id: source }));
        resources.forgetVolume(source);
        assert.equal(await readFile(env(), clone), 'written while in use');
      });

      it('keeps a snapshot usable after its source volume is deleted, in either delete order', async function () {
        needs(this, 'CREATE_DELETE_SNAPSHOT');
        const { client, resources } = env();
        const source = await env().createVolume('order-src');
        const writes = !env().isBlock && env().nodeRpcs.size > 0;
        if (writes) await writeFile(env(), source, 'outlives its source');
        const snap = await snapshot('order', source);
        await client.deleteVolume({ volume_id: source });
        resources.forgetVolume(source);
        const restored = await createFrom('order-restored', { snapshot: { snapshot_id: snap.snapshot_id } });
        if (writes) assert.equal(await readFile(env(), restored), 'outlives its source');
        // Snapshot before the volume restored from it: both go, nothing is left (the driver's own
        // clean-up check looks at the backend).
        await eventuallyDeleted(() => client.deleteSnapshot({ snapshot_id: snap.snapshot_id }));
        resources.forgetSnapshot(snap.snapshot_id);
        await client.deleteVolume({ volume_id: restored });
        resources.forgetVolume(restored);
      });

      it('fails with NOT_FOUND for a snapshot or a volume source that does not exist', async function () {
        needs(this, 'CREATE_DELETE_VOLUME');
        const { client } = env();
        const base = {
          capacity_range: { required_bytes: env().volumeBytes.toString() },
          volume_capabilities: env().capabilities,
          parameters: env().params,
        };
        if (env().controllerRpcs.has('CREATE_DELETE_SNAPSHOT')) {
          await expectStatus(
            client.createVolume({
              ...base,
              name: env().uniqueName('from-missing-snap'),
              volume_content_source: {
                snapshot: { snapshot_id: 'csi-conformance-snapshot-that-does-not-exist' },
              },
            }),
            status.NOT_FOUND,
            'missing snapshot',
          );
        }
        if (env().controllerRpcs.has('CLONE_VOLUME')) {
          await expectStatus(
            client.createVolume({
              ...base,
              name: env().uniqueName('from-missing-volume'),
              volume_content_source: { volume: { volume_id: env().unknownVolumeId } },
            }),
            status.NOT_FOUND,
            'missing volume',
          );
        }
        skipUnless(
          this,
          env().controllerRpcs.has('CREATE_DELETE_SNAPSHOT') || env().controllerRpcs.has('CLONE_VOLUME'),
          'driver takes no content sources',
        );
      });
    });
  });
}

/** A delete may answer FAILED_PRECONDITION while the driver flattens dependents; it must end. */
async function eventuallyDeleted(call: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await call();
      return;
    } catch (err) {
      if (attempt >= 60 || (err as { code?: number }).code !== status.FAILED_PRECONDITION) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
