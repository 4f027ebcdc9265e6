// A CSI conformance suite written from the CSI spec's rules and error tables (the ground csi-sanity
// covers, for the RPCs berth uses). Any driver can be run through it: give a connected client, two
// scratch directories and the capability to test with. Capability-dependent tests skip with a reason.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CsiClient } from '../../src/csi/client.js';
import { status } from '../../src/csi/errors.js';
import type {
  ControllerRpcType,
  NodeRpcType,
  PluginCapability,
  VolumeCapability,
} from '../../src/csi/types.js';
import type { PartialMessage } from '../../src/csi/types.js';
import { skipUnless } from '../helpers/skip.js';
import { ConformanceResources } from './resources.js';
import { describeSnapshotConformance } from './snapshot-conformance.js';
import { expectCode } from './expect-code.js';

export { expectCode } from './expect-code.js';

export interface CsiConformanceTarget {
  client: CsiClient;
  /** Scratch directory; the suite makes one staging path per test under it. */
  stagingDir: string;
  /** Scratch directory; the suite makes publish target paths under it (their parents exist). */
  targetDir: string;
  /** CreateVolume parameters. */
  params?: Record<string, string>;
  /** Capabilities to create volumes with; the first is used for node calls. Default: mount, SINGLE_NODE_WRITER. */
  capabilities?: PartialMessage<VolumeCapability>[];
  /** Size of test volumes. Default 64 MiB. */
  volumeBytes?: bigint;
  cleanup(): Promise<void>;
}

const MIB = 1024n * 1024n;
const KNOWN_CONTROLLER_RPCS: ReadonlySet<ControllerRpcType> = new Set<ControllerRpcType>([
  'CREATE_DELETE_VOLUME',
  'PUBLISH_UNPUBLISH_VOLUME',
  'LIST_VOLUMES',
  'GET_CAPACITY',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_SNAPSHOTS',
  'CLONE_VOLUME',
  'PUBLISH_READONLY',
  'EXPAND_VOLUME',
  'LIST_VOLUMES_PUBLISHED_NODES',
  'VOLUME_CONDITION',
  'GET_VOLUME',
  'SINGLE_NODE_MULTI_WRITER',
  'MODIFY_VOLUME',
  'GET_SNAPSHOT',
]);
const KNOWN_NODE_RPCS: ReadonlySet<NodeRpcType> = new Set<NodeRpcType>([
  'STAGE_UNSTAGE_VOLUME',
  'GET_VOLUME_STATS',
  'EXPAND_VOLUME',
  'VOLUME_CONDITION',
  'SINGLE_NODE_MULTI_WRITER',
  'VOLUME_MOUNT_GROUP',
]);
const UNKNOWN_VOLUME_ID = 'csi-conformance-volume-that-does-not-exist';

async function pathExists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

export function describeCsiConformance(name: string, setup: () => Promise<CsiConformanceTarget>): void {
  describe(`CSI conformance: ${name}`, function () {
    let target: CsiConformanceTarget;
    let client: CsiClient;
    let resources: ConformanceResources;
    let pluginCaps: PluginCapability[] = [];
    let controllerRpcs = new Set<string>();
    let nodeRpcs = new Set<string>();
    let capability: PartialMessage<VolumeCapability>;
    let capabilities: PartialMessage<VolumeCapability>[];
    let volumeBytes: bigint;
    let isBlock = false;
    const run = randomBytes(4).toString('hex');
    let serial = 0;
    let hasController = false;

    const uniqueName = (label: string) => `conformance-${run}-${label}-${++serial}`;
    const stagingPath = (label: string) => path.join(target.stagingDir, `${label}-${++serial}`);
    const targetPath = (label: string) => path.join(target.targetDir, `${label}-${++serial}`);

    async function createVolume(label: string, bytes = volumeBytes): Promise<string> {
      const response = await client.createVolume({
        name: uniqueName(label),
        capacity_range: { required_bytes: bytes.toString() },
        volume_capabilities: capabilities,
        parameters: target.params ?? {},
      });
      assert.ok(response.volume?.volume_id, 'CreateVolume returns a volume id');
      return resources.volume(response.volume.volume_id);
    }

    async function stage(volumeId: string, staging: string): Promise<void> {
      resources.stage(volumeId, staging);
      await client.nodeStageVolume({
        volume_id: volumeId,
        staging_target_path: staging,
        volume_capability: capability,
      });
    }

    async function publish(
      volumeId: string,
      staging: string,
      targetPath: string,
      readonly = false,
    ): Promise<void> {
      resources.publish(volumeId, targetPath);
      await client.nodePublishVolume({
        volume_id: volumeId,
        staging_target_path: staging,
        target_path: targetPath,
        volume_capability: capability,
        readonly,
      });
    }

    before(async function () {
      target = await setup();
      client = target.client;
      resources = new ConformanceResources(client);
      capabilities = target.capabilities ?? [
        { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
      ];
      capability = capabilities[0]!;
      isBlock = capability.block !== undefined && capability.block !== null;
      volumeBytes = target.volumeBytes ?? 64n * MIB;
      pluginCaps = (await client.getPluginCapabilities()).capabilities;
      hasController = pluginCaps.some((cap) => cap.service?.type === 'CONTROLLER_SERVICE');
      if (hasController) {
        const caps = (await client.controllerGetCapabilities()).capabilities;
        controllerRpcs = new Set(caps.map((cap) => cap.rpc?.type ?? 'UNKNOWN'));
      }
      nodeRpcs = new Set(
        (await client.nodeGetCapabilities()).capabilities.map((cap) => cap.rpc?.type ?? 'UNKNOWN'),
      );
    });

    afterEach(async function () {
      await resources.cleanup();
    });

    after(async function () {
      await target?.cleanup();
    });

    const needsController = (ctx: Mocha.Context, rpc: ControllerRpcType) =>
      skipUnless(ctx, controllerRpcs.has(rpc), `driver lacks controller capability ${rpc}`);
    const needsNode = (ctx: Mocha.Context, rpc: NodeRpcType) =>
      skipUnless(ctx, nodeRpcs.has(rpc), `driver lacks node capability ${rpc}`);

    describe('Identity', function () {
      it('GetPluginInfo names the driver (<= 63 chars, DNS-like) with a vendor version', async function () {
        const info = await client.getPluginInfo();
        assert.ok(info.name.length > 0 && info.name.length <= 63, `name length ${info.name.length}`);
        assert.match(info.name, /^[a-zA-Z][A-Za-z0-9-._]{0,61}[a-zA-Z]$/);
        assert.ok(info.vendor_version.length > 0, 'vendor_version is set');
      });

      it('GetPluginCapabilities lists only known capabilities', async function () {
        for (const cap of pluginCaps) {
          if (cap.service) {
            assert.ok(
              [
                'CONTROLLER_SERVICE',
                'VOLUME_ACCESSIBILITY_CONSTRAINTS',
                'GROUP_CONTROLLER_SERVICE',
                'SNAPSHOT_METADATA_SERVICE',
              ].includes(cap.service.type),
              `service ${cap.service.type}`,
            );
          } else {
            assert.ok(
              ['ONLINE', 'OFFLINE'].includes(cap.volume_expansion?.type ?? ''),
              'volume expansion type',
            );
          }
        }
      });

      it('Probe answers, and ready is not false', async function () {
        const probe = await client.probe();
        assert.notEqual(probe.ready?.value, false);
      });
    });

    describe('Controller', function () {
      beforeEach(function () {
        skipUnless(this, hasController, 'driver has no controller service');
      });

      it('ControllerGetCapabilities lists only known RPC types', async function () {
        for (const rpc of controllerRpcs) assert.ok(KNOWN_CONTROLLER_RPCS.has(rpc as ControllerRpcType), rpc);
      });

      it('GetCapacity returns available capacity', async function () {
        needsController(this, 'GET_CAPACITY');
        const capacity = await client.getCapacity({
          volume_capabilities: capabilities,
          parameters: target.params ?? {},
        });
        assert.ok(BigInt(capacity.available_capacity) >= 0n);
      });

      describe('CreateVolume', function () {
        beforeEach(function () {
          needsController(this, 'CREATE_DELETE_VOLUME');
        });

        it('fails with INVALID_ARGUMENT without a name', async function () {
          await expectCode(
            client.createVolume({ volume_capabilities: capabilities }),
            status.INVALID_ARGUMENT,
          );
        });

        it('fails with INVALID_ARGUMENT without volume capabilities', async function () {
          await expectCode(client.createVolume({ name: uniqueName('nocaps') }), status.INVALID_ARGUMENT);
        });

        it('returns a volume at least as large as asked, with its topology', async function () {
          const name = uniqueName('size');
          const response = await client.createVolume({
            name,
            capacity_range: { required_bytes: volumeBytes.toString() },
            volume_capabilities: capabilities,
            parameters: target.params ?? {},
          });
          const volume = response.volume!;
          resources.volume(volume.volume_id);
          const bytes = BigInt(volume.capacity_bytes);
          assert.ok(bytes === 0n || bytes >= volumeBytes, `capacity ${bytes} >= ${volumeBytes}`);
          if (pluginCaps.some((cap) => cap.service?.type === 'VOLUME_ACCESSIBILITY_CONSTRAINTS')) {
            assert.ok(volume.accessible_topology.length > 0, 'accessible_topology is set');
          }
        });

        it('is idempotent: the same name and size twice gives the same volume', async function () {
          const request = {
            name: uniqueName('idem'),
            capacity_range: { required_bytes: volumeBytes.toString() },
            volume_capabilities: capabilities,
            parameters: target.params ?? {},
          };
          const first = (await client.createVolume(request)).volume!;
          resources.volume(first.volume_id);
          const second = (await client.createVolume(request)).volume!;
          assert.equal(second.volume_id, first.volume_id);
          assert.equal(second.capacity_bytes, first.capacity_bytes);
        });

        it('fails with ALREADY_EXISTS for the same name with another size', async function () {
          const name = uniqueName('conflict');
          const base = { name, volume_capabilities: capabilities, parameters: target.params ?? {} };
          const first = await client.createVolume({
            ...base,
            capacity_range: { required_bytes: volumeBytes.toString() },
          });
          resources.volume(first.volume!.volume_id);
          const bigger = (volumeBytes * 2n).toString();
          await expectCode(
            client.createVolume({ ...base, capacity_range: { required_bytes: bigger, limit_bytes: bigger } }),
            status.ALREADY_EXISTS,
          );
        });

        it('accepts a name of the maximum length (128)', async function () {
          const prefix = uniqueName('long');
          const name = prefix + 'x'.repeat(128 - prefix.length);
          const response = await client.createVolume({
            name,
            capacity_range: { required_bytes: volumeBytes.toString() },
            volume_capabilities: capabilities,
            parameters: target.params ?? {},
          });
          resources.volume(response.volume!.volume_id);
        });
      });

      describe('DeleteVolume', function () {
        beforeEach(function () {
          needsController(this, 'CREATE_DELETE_VOLUME');
        });

        it('fails with INVALID_ARGUMENT without a volume id', async function () {
          await expectCode(client.deleteVolume({}), status.INVALID_ARGUMENT);
        });

        it('succeeds for an unknown volume id', async function () {
          await client.deleteVolume({ volume_id: UNKNOWN_VOLUME_ID });
        });

        it('is idempotent: deleting twice succeeds', async function () {
          const id = await createVolume('delete');
          await client.deleteVolume({ volume_id: id });
          await client.deleteVolume({ volume_id: id });
          resources.forgetVolume(id);
        });
      });

      describe('ValidateVolumeCapabilities', function () {
        it('fails with INVALID_ARGUMENT without a volume id or capabilities', async function () {
          await expectCode(
            client.validateVolumeCapabilities({ volume_capabilities: capabilities }),
            status.INVALID_ARGUMENT,
            'no volume id',
          );
          needsController(this, 'CREATE_DELETE_VOLUME');
          const id = await createVolume('validate-args');
          await expectCode(
            client.validateVolumeCapabilities({ volume_id: id }),
            status.INVALID_ARGUMENT,
            'no caps',
          );
        });

        it('fails with NOT_FOUND for an unknown volume', async function () {
          await expectCode(
            client.validateVolumeCapabilities({
              volume_id: UNKNOWN_VOLUME_ID,
              volume_capabilities: capabilities,
            }),
            status.NOT_FOUND,
          );
        });

        it('confirms the capabilities a volume was created with', async function () {
          needsController(this, 'CREATE_DELETE_VOLUME');
          const id = await createVolume('validate');
          const response = await client.validateVolumeCapabilities({
            volume_id: id,
            volume_capabilities: capabilities,
          });
          assert.ok(response.confirmed, `confirmed (message: ${response.message})`);
          assert.equal(response.confirmed.volume_capabilities.length, capabilities.length);
        });
      });

      describe('ListVolumes', function () {
        beforeEach(function () {
          needsController(this, 'LIST_VOLUMES');
        });

        it('fails with ABORTED for an invalid starting_token', async function () {
          await expectCode(
            client.listVolumes({ starting_token: 'not-a-token-of-this-driver' }),
            status.ABORTED,
          );
        });

        it('shows new volumes and not deleted ones', async function () {
          needsController(this, 'CREATE_DELETE_VOLUME');
          const ids = async () => {
            const all: string[] = [];
            let token = '';
            do {
              const page = await client.listVolumes({ max_entries: 2, starting_token: token });
              all.push(...page.entries.map((entry) => entry.volume?.volume_id ?? ''));
              token = page.next_token;
            } while (token);
            return all;
          };
          const a = await createVolume('list');
          const b = await createVolume('list');
          const c = await createVolume('list');
          const listed = await ids();
          for (const id of [a, b, c]) assert.ok(listed.includes(id), `${id} is listed`);
          await client.deleteVolume({ volume_id: b });
          resources.forgetVolume(b);
          assert.ok(!(await ids()).includes(b), 'deleted volume is gone');
        });
      });

      describe('ControllerExpandVolume', function () {
        beforeEach(function () {
          needsController(this, 'EXPAND_VOLUME');
        });

        it('fails with INVALID_ARGUMENT without a volume id or capacity range', async function () {
          const range = { required_bytes: volumeBytes.toString() };
          await expectCode(
            client.controllerExpandVolume({ capacity_range: range }),
            status.INVALID_ARGUMENT,
            'no id',
          );
          const id = await createVolume('expand-args');
          await expectCode(
            client.controllerExpandVolume({ volume_id: id }),
            status.INVALID_ARGUMENT,
            'no range',
          );
        });

        it('fails with NOT_FOUND for an unknown volume', async function () {
          await expectCode(
            client.controllerExpandVolume({
              volume_id: UNKNOWN_VOLUME_ID,
              capacity_range: { required_bytes: volumeBytes.toString() },
            }),
            status.NOT_FOUND,
          );
        });

        it('grows a volume', async function () {
          const id = await createVolume('expand');
          const wanted = volumeBytes * 2n;
          const response = await client.controllerExpandVolume({
            volume_id: id,
            capacity_range: { required_bytes: wanted.toString() },
            volume_capability: capability,
          });
          assert.ok(BigInt(response.capacity_bytes) >= wanted, `${response.capacity_bytes} >= ${wanted}`);
        });
      });
    });

    describe('Node', function () {
      it('NodeGetCapabilities lists only known RPC types', async function () {
        for (const rpc of nodeRpcs) assert.ok(KNOWN_NODE_RPCS.has(rpc as NodeRpcType), rpc);
      });

      it('NodeGetInfo returns a node id, a volume limit >= 0 and topology when constrained', async function () {
        const info = await client.nodeGetInfo();
        assert.ok(info.node_id.length > 0);
        assert.ok(BigInt(info.max_volumes_per_node) >= 0n);
        if (pluginCaps.some((cap) => cap.service?.type === 'VOLUME_ACCESSIBILITY_CONSTRAINTS')) {
          assert.ok(info.accessible_topology, 'accessible_topology is set');
        }
      });

      describe('NodeStageVolume / NodeUnstageVolume', function () {
        beforeEach(function () {
          needsNode(this, 'STAGE_UNSTAGE_VOLUME');
        });

        it('NodeStageVolume fails with INVALID_ARGUMENT without volume id, staging path or capability', async function () {
          const staging = stagingPath('args');
          await expectCode(
            client.nodeStageVolume({ staging_target_path: staging, volume_capability: capability }),
            status.INVALID_ARGUMENT,
            'no volume id',
          );
          const id = hasController ? await createVolume('stage-args') : UNKNOWN_VOLUME_ID;
          await expectCode(
            client.nodeStageVolume({ volume_id: id, volume_capability: capability }),
            status.INVALID_ARGUMENT,
            'no staging path',
          );
          await expectCode(
            client.nodeStageVolume({ volume_id: id, staging_target_path: staging }),
            status.INVALID_ARGUMENT,
            'no capability',
          );
        });

        it('NodeStageVolume fails with NOT_FOUND for an unknown volume', async function () {
          await expectCode(
            client.nodeStageVolume({
              volume_id: UNKNOWN_VOLUME_ID,
              staging_target_path: stagingPath('unknown'),
              volume_capability: capability,
            }),
            status.NOT_FOUND,
          );
        });

        it('NodeUnstageVolume fails with INVALID_ARGUMENT without volume id or staging path', async function () {
          await expectCode(
            client.nodeUnstageVolume({ staging_target_path: stagingPath('x') }),
            status.INVALID_ARGUMENT,
            'no volume id',
          );
          await expectCode(
            client.nodeUnstageVolume({ volume_id: UNKNOWN_VOLUME_ID }),
            status.INVALID_ARGUMENT,
          );
        });

        it('NodeUnstageVolume of a volume that is not staged succeeds', async function () {
          skipUnless(this, hasController, 'needs CreateVolume');
          const id = await createVolume('unstage-none');
          await client.nodeUnstageVolume({ volume_id: id, staging_target_path: stagingPath('never') });
        });

        it('NodeStageVolume twice with the same arguments succeeds', async function () {
          skipUnless(this, hasController, 'needs CreateVolume');
          const id = await createVolume('stage-twice');
          const staging = stagingPath('twice');
          await stage(id, staging);
          await stage(id, staging);
        });
      });

      describe('NodePublishVolume / NodeUnpublishVolume', function () {
        it('NodePublishVolume fails with INVALID_ARGUMENT without volume id, target path or capability', async function () {
          const target = targetPath('args');
          const staging = stagingPath('args');
          await expectCode(
            client.nodePublishVolume({
              target_path: target,
              staging_target_path: staging,
              volume_capability: capability,
            }),
            status.INVALID_ARGUMENT,
            'no volume id',
          );
          const id = hasController ? await createVolume('publish-args') : UNKNOWN_VOLUME_ID;
          await expectCode(
            client.nodePublishVolume({
              volume_id: id,
              staging_target_path: staging,
              volume_capability: capability,
            }),
            status.INVALID_ARGUMENT,
            'no target path',
          );
          await expectCode(
            client.nodePublishVolume({ volume_id: id, staging_target_path: staging, target_path: target }),
            status.INVALID_ARGUMENT,
            'no capability',
          );
        });

        it('NodePublishVolume fails with NOT_FOUND for an unknown volume', async function () {
          await expectCode(
            client.nodePublishVolume({
              volume_id: UNKNOWN_VOLUME_ID,
              staging_target_path: stagingPath('unknown'),
              target_path: targetPath('unknown'),
              volume_capability: capability,
            }),
            status.NOT_FOUND,
          );
        });

        it('NodeUnpublishVolume fails with INVALID_ARGUMENT without volume id or target path', async function () {
          await expectCode(
            client.nodeUnpublishVolume({ target_path: targetPath('x') }),
            status.INVALID_ARGUMENT,
            'no volume id',
          );
          await expectCode(
            client.nodeUnpublishVolume({ volume_id: UNKNOWN_VOLUME_ID }),
            status.INVALID_ARGUMENT,
          );
        });

        it('NodeUnpublishVolume of a volume that is not published succeeds', async function () {
          skipUnless(this, hasController, 'needs CreateVolume');
          const id = await createVolume('unpublish-none');
          await client.nodeUnpublishVolume({ volume_id: id, target_path: targetPath('never') });
        });

        it('NodePublishVolume twice with the same arguments succeeds; other arguments give ALREADY_EXISTS', async function () {
          skipUnless(this, hasController, 'needs CreateVolume');
          needsNode(this, 'STAGE_UNSTAGE_VOLUME');
          const id = await createVolume('publish-twice');
          const staging = stagingPath('twice');
          const target = targetPath('twice');
          await stage(id, staging);
          await publish(id, staging, target);
          await publish(id, staging, target);
          await expectCode(publish(id, staging, target, true), status.ALREADY_EXISTS, 'readonly differs');
        });

        it('NodeUnpublishVolume removes the target path', async function () {
          skipUnless(this, hasController, 'needs CreateVolume');
          needsNode(this, 'STAGE_UNSTAGE_VOLUME');
          const id = await createVolume('unpublish');
          const staging = stagingPath('unpublish');
          const target = targetPath('unpublish');
          await stage(id, staging);
          await publish(id, staging, target);
          assert.ok(await pathExists(target), 'target exists while published');
          await client.nodeUnpublishVolume({ volume_id: id, target_path: target });
          resources.forgetPublish(target);
          assert.equal(await pathExists(target), false, 'target is gone after unpublish');
        });
      });

      describe('NodeGetVolumeStats', function () {
        beforeEach(function () {
          needsNode(this, 'GET_VOLUME_STATS');
        });

        it('fails with INVALID_ARGUMENT without volume id or volume path', async function () {
          await expectCode(
            client.nodeGetVolumeStats({ volume_path: target.targetDir }),
            status.INVALID_ARGUMENT,
          );
          await expectCode(
            client.nodeGetVolumeStats({ volume_id: UNKNOWN_VOLUME_ID }),
            status.INVALID_ARGUMENT,
          );
        });

        it('fails with NOT_FOUND for an unknown volume', async function () {
          await expectCode(
            client.nodeGetVolumeStats({ volume_id: UNKNOWN_VOLUME_ID, volume_path: target.targetDir }),
            status.NOT_FOUND,
          );
        });

        it('fails with NOT_FOUND when the volume is not at the path', async function () {
          skipUnless(this, hasController, 'needs CreateVolume');
          const id = await createVolume('stats-elsewhere');
          await expectCode(
            client.nodeGetVolumeStats({ volume_id: id, volume_path: target.targetDir }),
            status.NOT_FOUND,
          );
        });
      });

      describe('NodeExpandVolume', function () {
        beforeEach(function () {
          needsNode(this, 'EXPAND_VOLUME');
        });

        it('fails with INVALID_ARGUMENT without volume id or volume path', async function () {
          await expectCode(
            client.nodeExpandVolume({ volume_path: target.targetDir }),
            status.INVALID_ARGUMENT,
          );
          await expectCode(
            client.nodeExpandVolume({ volume_id: UNKNOWN_VOLUME_ID }),
            status.INVALID_ARGUMENT,
          );
        });

        it('fails with NOT_FOUND for an unknown volume', async function () {
          await expectCode(
            client.nodeExpandVolume({ volume_id: UNKNOWN_VOLUME_ID, volume_path: target.targetDir }),
            status.NOT_FOUND,
          );
        });
      });
    });

    describe('Lifecycle', function () {
      beforeEach(function () {
        skipUnless(this, controllerRpcs.has('CREATE_DELETE_VOLUME'), 'driver cannot create volumes');
        needsNode(this, 'STAGE_UNSTAGE_VOLUME');
      });

      it('create -> stage -> publish -> write -> unpublish -> unstage -> delete, each step twice', async function () {
        const id = await createVolume('lifecycle');
        const staging = stagingPath('lifecycle');
        const target = targetPath('lifecycle');
        await stage(id, staging);
        await stage(id, staging);
        await publish(id, staging, target);
        await publish(id, staging, target);
        if (isBlock) {
          assert.ok(await pathExists(target), 'block target exists');
        } else {
          await fs.writeFile(path.join(target, 'hello.txt'), 'written through the published volume');
          const back = await fs.readFile(path.join(staging, 'hello.txt'), 'utf8').catch(() => undefined);
          if (back !== undefined) assert.equal(back, 'written through the published volume');
        }
        if (nodeRpcs.has('GET_VOLUME_STATS')) {
          const stats = await client.nodeGetVolumeStats({ volume_id: id, volume_path: target });
          assert.ok(stats.usage.length > 0, 'usage reported');
        }
        for (let i = 0; i < 2; i++) await client.nodeUnpublishVolume({ volume_id: id, target_path: target });
        resources.forgetPublish(target);
        assert.equal(await pathExists(target), false, 'target removed');
        for (let i = 0; i < 2; i++)
          await client.nodeUnstageVolume({ volume_id: id, staging_target_path: staging });
        resources.forgetStage(staging);
        for (let i = 0; i < 2; i++) await client.deleteVolume({ volume_id: id });
        resources.forgetVolume(id);
      });

      it('data survives unpublish, unstage and a second stage', async function () {
        skipUnless(this, !isBlock, 'needs a mount volume');
        const id = await createVolume('persist');
        const staging = stagingPath('persist');
        const first = targetPath('persist');
        await stage(id, staging);
        await publish(id, staging, first);
        await fs.writeFile(path.join(first, 'data'), 'kept');
        await client.nodeUnpublishVolume({ volume_id: id, target_path: first });
        resources.forgetPublish(first);
        await client.nodeUnstageVolume({ volume_id: id, staging_target_path: staging });
        resources.forgetStage(staging);
        const second = targetPath('persist');
        await stage(id, staging);
        await publish(id, staging, second);
        assert.equal(await fs.readFile(path.join(second, 'data'), 'utf8'), 'kept');
      });
    });

    describeSnapshotConformance(() => ({
      client,
      resources,
      controllerRpcs,
      nodeRpcs,
      capability,
      capabilities,
      params: target.params ?? {},
      volumeBytes,
      isBlock,
      uniqueName,
      createVolume: (label) => createVolume(label),
      stagingPath,
      targetPath,
      unknownVolumeId: UNKNOWN_VOLUME_ID,
    }));
  });
}
