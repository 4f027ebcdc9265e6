// Real gRPC over unix sockets: CsiClient against the mock driver served by serveCsi.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CsiClient } from '../../src/csi/client.js';
import type { CsiCallLog } from '../../src/csi/client.js';
import { CsiError, classify, status, statusName } from '../../src/csi/errors.js';
import { loadCsiDefinitions } from '../../src/csi/load.js';
import { fromBigInt, toBigInt } from '../../src/csi/types.js';
import type { PartialMessage, VolumeCapability } from '../../src/csi/types.js';
import { startMockDriver } from '../mock-driver/driver.js';
import type { StartedMockDriver } from '../mock-driver/driver.js';

const MOUNT_RWO: PartialMessage<VolumeCapability> = {
  mount: { fs_type: 'ext4' },
  access_mode: { mode: 'SINGLE_NODE_WRITER' },
};

async function expectCode(promise: Promise<unknown>, code: number): Promise<CsiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CsiError, `expected CsiError, got ${String(err)}`);
    assert.equal(err.codeName, statusName(code), err.message);
    return err;
  }
  assert.fail(`expected ${statusName(code)}`);
}

describe('csi client <-> mock driver over a unix socket', function () {
  let dir: string;
  let mock: StartedMockDriver;
  let client: CsiClient;
  let logs: CsiCallLog[];

  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-csi-'));
    mock = await startMockDriver({
      socketPath: path.join(dir, 'csi.sock'),
      nodeId: 'node-1',
      capacityBytes: 1n << 62n,
    });
    logs = [];
    client = new CsiClient(mock.endpoint, { timeoutMs: 5_000, logger: (e) => logs.push(e) });
    await client.waitForReady(5_000);
  });

  afterEach(async function () {
    client.close();
    await mock.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('identity: GetPluginInfo, GetPluginCapabilities, Probe', async function () {
    const info = await client.getPluginInfo();
    assert.equal(info.name, 'mock.csi.berth.dev');
    assert.equal(info.vendor_version, '0.1.0');
    const caps = await client.getPluginCapabilities();
    assert.ok(caps.capabilities.some((c) => c.service?.type === 'CONTROLLER_SERVICE'));
    assert.ok(
      caps.capabilities.some((c) => c.type === 'volume_expansion' && c.volume_expansion?.type === 'ONLINE'),
    );
    const probe = await client.probe();
    assert.equal(probe.ready?.value, true);
  });

  it('controller: full lifecycle of every RPC', async function () {
    const ctrlCaps = await client.controllerGetCapabilities();
    const types = ctrlCaps.capabilities.map((c) => c.rpc?.type);
    assert.ok(types.includes('CREATE_DELETE_VOLUME') && types.includes('PUBLISH_UNPUBLISH_VOLUME'));

    const before = toBigInt((await client.getCapacity()).available_capacity);
    const created = await client.createVolume({
      name: 'pvc-1',
      capacity_range: { required_bytes: fromBigInt(10n << 30n) },
      volume_capabilities: [MOUNT_RWO],
      parameters: { tier: 'gold' },
    });
    const vol = created.volume!;
    assert.equal(toBigInt(vol.capacity_bytes), 10n << 30n);
    assert.equal(vol.volume_context['mock.csi.berth.dev/name'], 'pvc-1');
    const after = toBigInt((await client.getCapacity()).available_capacity);
    assert.equal(before - after, 10n << 30n);

    // Same name, compatible request: the same volume (idempotent).
    const again = await client.createVolume({
      name: 'pvc-1',
      capacity_range: { required_bytes: fromBigInt(5n << 30n) },
      volume_capabilities: [MOUNT_RWO],
      parameters: { tier: 'gold' },
    });
    assert.equal(again.volume?.volume_id, vol.volume_id);

    const valid = await client.validateVolumeCapabilities({
      volume_id: vol.volume_id,
      volume_capabilities: [MOUNT_RWO],
    });
    assert.equal(valid.confirmed?.volume_capabilities[0]?.access_mode?.mode, 'SINGLE_NODE_WRITER');

    const published = await client.controllerPublishVolume({
      volume_id: vol.volume_id,
      node_id: 'node-1',
      volume_capability: MOUNT_RWO,
    });
    assert.equal(published.publish_context['devicePath'], `/dev/mock/${vol.volume_id}`);

    const listed = await client.listVolumes();
    assert.deepEqual(listed.entries[0]?.status?.published_node_ids, ['node-1']);

    const expanded = await client.controllerExpandVolume({
      volume_id: vol.volume_id,
      capacity_range: { required_bytes: fromBigInt(20n << 30n) },
      volume_capability: MOUNT_RWO,
    });
    assert.equal(toBigInt(expanded.capacity_bytes), 20n << 30n);
    assert.equal(expanded.node_expansion_required, true);

    await client.controllerUnpublishVolume({ volume_id: vol.volume_id, node_id: 'node-1' });
    await client.deleteVolume({ volume_id: vol.volume_id });
    // Deleting again is fine: the volume is gone either way.
    await client.deleteVolume({ volume_id: vol.volume_id });
    assert.equal((await client.listVolumes()).entries.length, 0);
  });

  it('controller: ListVolumes pages with tokens', async function () {
    for (const name of ['a', 'b', 'c']) await client.createVolume({ name, volume_capabilities: [MOUNT_RWO] });
    const first = await client.listVolumes({ max_entries: 2 });
    assert.equal(first.entries.length, 2);
    assert.equal(first.next_token, '2');
    const second = await client.listVolumes({ max_entries: 2, starting_token: first.next_token });
    assert.equal(second.entries.length, 1);
    assert.equal(second.next_token, '');
    await expectCode(client.listVolumes({ starting_token: 'nope' }), status.ABORTED);
  });

  it('node: stage, publish, stats, expand, unpublish, unstage on real directories', async function () {
    const info = await client.nodeGetInfo();
    assert.equal(info.node_id, 'node-1');
    const nodeCaps = (await client.nodeGetCapabilities()).capabilities.map((c) => c.rpc?.type);
    assert.ok(nodeCaps.includes('STAGE_UNSTAGE_VOLUME'));

    const vol = (await client.createVolume({ name: 'pvc-n', volume_capabilities: [MOUNT_RWO] })).volume!;
    const staging = path.join(dir, 'staging', 'globalmount');
    const target = path.join(dir, 'pods', 'uid', 'mount');
    await client.nodeStageVolume({
      volume_id: vol.volume_id,
      staging_target_path: staging,
      volume_capability: MOUNT_RWO,
    });
    await client.nodePublishVolume({
      volume_id: vol.volume_id,
      staging_target_path: staging,
      target_path: target,
      volume_capability: MOUNT_RWO,
    });
    assert.equal(readFileSync(path.join(target, '.mock-volume'), 'utf8'), vol.volume_id);

    const stats = await client.nodeGetVolumeStats({ volume_id: vol.volume_id, volume_path: target });
    assert.equal(stats.usage[0]?.unit, 'BYTES');
    assert.equal(stats.usage[0]?.total, vol.capacity_bytes);

    const grown = await client.nodeExpandVolume({ volume_id: vol.volume_id, volume_path: target });
    assert.equal(grown.capacity_bytes, vol.capacity_bytes);

    await client.nodeUnpublishVolume({ volume_id: vol.volume_id, target_path: target });
    assert.equal(existsSync(target), false);
    await client.nodeUnstageVolume({ volume_id: vol.volume_id, staging_target_path: staging });
    assert.deepEqual(
      mock.driver.calls.map((c) => c.method).filter((m) => m.startsWith('Node') && !m.startsWith('NodeGet')),
      [
        'NodeStageVolume',
        'NodePublishVolume',
        'NodeExpandVolume',
        'NodeUnpublishVolume',
        'NodeUnstageVolume',
      ],
    );
    await expectCode(
      client.nodeGetVolumeStats({ volume_id: vol.volume_id, volume_path: target }),
      status.NOT_FOUND,
    );
  });

  it('carries int64 capacities above 2^53 exactly', async function () {
    const huge = 2n ** 53n + 1n;
    const vol = (
      await client.createVolume({
        name: 'huge',
        capacity_range: { required_bytes: fromBigInt(huge), limit_bytes: fromBigInt(huge) },
        volume_capabilities: [MOUNT_RWO],
      })
    ).volume!;
    assert.equal(vol.capacity_bytes, '9007199254740993');
    assert.equal(toBigInt(vol.capacity_bytes), huge);
    const listed = await client.listVolumes();
    assert.equal(listed.entries[0]?.volume?.capacity_bytes, '9007199254740993');
  });

  it('follows CSI error rules', async function () {
    await expectCode(
      client.createVolume({ name: '', volume_capabilities: [MOUNT_RWO] }),
      status.INVALID_ARGUMENT,
    );
    await expectCode(client.createVolume({ name: 'x' }), status.INVALID_ARGUMENT);
    await expectCode(
      client.createVolume({
        name: 'x',
        volume_capabilities: [{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
      }),
      status.INVALID_ARGUMENT,
    );
    await client.createVolume({
      name: 'x',
      capacity_range: { required_bytes: '1000' },
      volume_capabilities: [MOUNT_RWO],
    });
    const exists = await expectCode(
      client.createVolume({
        name: 'x',
        capacity_range: { required_bytes: '5000' },
        volume_capabilities: [MOUNT_RWO],
      }),
      status.ALREADY_EXISTS,
    );
    assert.equal(classify(exists), 'final');
    await expectCode(client.deleteVolume({ volume_id: '' }), status.INVALID_ARGUMENT);
    await expectCode(
      client.controllerPublishVolume({
        volume_id: 'missing',
        node_id: 'node-1',
        volume_capability: MOUNT_RWO,
      }),
      status.NOT_FOUND,
    );
    await expectCode(
      client.validateVolumeCapabilities({ volume_id: 'missing', volume_capabilities: [MOUNT_RWO] }),
      status.NOT_FOUND,
    );
    await expectCode(
      client.nodePublishVolume({ volume_id: 'missing', target_path: '', volume_capability: MOUNT_RWO }),
      status.INVALID_ARGUMENT,
    );
    const injected = await expectCode(
      (mock.driver.faults.push('Probe', { kind: 'error', code: status.UNAVAILABLE }), client.probe()),
      status.UNAVAILABLE,
    );
    assert.equal(classify(injected), 'in-progress');
  });

  it('deadline: a delayed call fails with DEADLINE_EXCEEDED, classified in-progress, and the work still happens', async function () {
    mock.driver.faults.push('CreateVolume', { kind: 'delay', ms: 400 });
    const started = Date.now();
    const err = await expectCode(
      client.createVolume({ name: 'slow', volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 100 }),
      status.DEADLINE_EXCEEDED,
    );
    assert.ok(Date.now() - started < 350, 'the call gave up at its deadline');
    assert.equal(classify(err), 'in-progress');
    // Retrying the same request after the driver finished returns the volume it made meanwhile.
    await new Promise((r) => setTimeout(r, 450));
    const retried = await client.createVolume({ name: 'slow', volume_capabilities: [MOUNT_RWO] });
    assert.equal(mock.driver.volumes().length, 1);
    assert.equal(retried.volume?.volume_id, mock.driver.volumes()[0]?.id);
  });

  it('in-process "die" drops the server mid-call; the caller sees an in-progress failure', async function () {
    mock.driver.faults.push('DeleteVolume', { kind: 'die', phase: 'before' });
    const err = await client.deleteVolume({ volume_id: 'v' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof CsiError);
    assert.ok(['UNAVAILABLE', 'CANCELLED'].includes(err.codeName), err.codeName);
    assert.equal(classify(err), 'in-progress');
  });

  it('a hung call is cut by the default deadline', async function () {
    const quick = new CsiClient(mock.endpoint, { timeoutMs: 150 });
    try {
      mock.driver.faults.push('NodeGetInfo', { kind: 'hang' });
      const err = await expectCode(quick.nodeGetInfo(), status.DEADLINE_EXCEEDED);
      assert.ok(err.local === false);
    } finally {
      quick.close();
    }
  });

  it('logs method, request and response with secrets redacted', async function () {
    const secret = 'hunter2-super-secret';
    const vol = (
      await client.createVolume({
        name: 's',
        volume_capabilities: [MOUNT_RWO],
        secrets: { password: secret },
      })
    ).volume!;
    await client.controllerPublishVolume({
      volume_id: vol.volume_id,
      node_id: 'node-1',
      volume_capability: MOUNT_RWO,
      secrets: { password: secret },
    });
    await client.nodeStageVolume({
      volume_id: vol.volume_id,
      staging_target_path: path.join(dir, 'st'),
      volume_capability: MOUNT_RWO,
      secrets: { password: secret },
    });
    await client.deleteVolume({ volume_id: 'gone', secrets: { password: secret } });
    await expectCode(
      client.nodeExpandVolume({ volume_id: '', secrets: { password: secret } }),
      status.INVALID_ARGUMENT,
    );
    const text = JSON.stringify(logs);
    assert.ok(!text.includes(secret), 'no secret in any log entry');
    const create = logs.find((l) => l.method === 'CreateVolume');
    assert.equal((create?.request as { secrets: unknown }).secrets, '<redacted>');
    assert.equal((create?.response as { volume: { volume_id: string } }).volume.volume_id, vol.volume_id);
    assert.equal(logs.find((l) => l.method === 'NodeExpandVolume')?.error?.codeName, 'INVALID_ARGUMENT');
    assert.ok(logs.every((l) => l.durationMs >= 0));
    // The driver did receive the real secret.
    const received = mock.driver.callsOf('CreateVolume')[0]?.request as { secrets: Record<string, string> };
    assert.equal(received.secrets['password'], secret);
  });

  it('a third-party client built from the loaded definitions talks to the server', async function () {
    const { clients } = loadCsiDefinitions();
    const raw = new clients.Controller(`unix://${mock.socketPath}`, grpc.credentials.createInsecure());
    try {
      const response = await new Promise<{ volume: { volume_id: string; capacity_bytes: string } }>(
        (resolve, reject) => {
          (raw as unknown as Record<string, (...args: unknown[]) => void>)['CreateVolume']!.call(
            raw,
            {
              name: 'raw',
              capacity_range: { required_bytes: 4096 },
              volume_capabilities: [{ block: {}, access_mode: { mode: 2 } }],
            },
            (err: Error | null, value: { volume: { volume_id: string; capacity_bytes: string } }) =>
              err ? reject(err) : resolve(value),
          );
        },
      );
      assert.equal(response.volume.capacity_bytes, '4096');
      const seen = mock.driver.callsOf('CreateVolume')[0]?.request as {
        volume_capabilities: { access_type: string; access_mode: { mode: string } }[];
      };
      assert.equal(seen.volume_capabilities[0]?.access_type, 'block');
      assert.equal(seen.volume_capabilities[0]?.access_mode.mode, 'SINGLE_NODE_READER_ONLY');
    } finally {
      raw.close();
    }
  });

  it('UNIMPLEMENTED when the driver does not attach', async function () {
    const other = await startMockDriver({
      socketPath: path.join(dir, 'noattach.sock'),
      publishUnpublish: false,
    });
    const c = new CsiClient(other.endpoint, { timeoutMs: 5_000 });
    try {
      const types = (await c.controllerGetCapabilities()).capabilities.map((x) => x.rpc?.type);
      assert.ok(!types.includes('PUBLISH_UNPUBLISH_VOLUME'));
      const err = await expectCode(
        c.controllerPublishVolume({ volume_id: 'v', node_id: 'n', volume_capability: MOUNT_RWO }),
        status.UNIMPLEMENTED,
      );
      assert.equal(classify(err), 'final');
    } finally {
      c.close();
      await other.shutdown();
    }
  });
});
