// The local driver's identity and controller services over a real unix socket, with a real data
// directory and a fake sysfs (so "is this volume staged?" can be scripted without root).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../../../src/csi/client.js';
import { status } from '../../../../src/csi/errors.js';
import type { LocalDriverHandle } from '../../../../src/drivers/local/index.js';
import {
  DRIVER_NAME,
  TOPOLOGY_KEY,
  parseLocalDriverArgs,
  startLocalDriver,
} from '../../../../src/drivers/local/index.js';
import type { Exec } from '../../../../src/host/exec.js';
import { LoopDevices } from '../../../../src/host/loop.js';
import { expectCode } from '../../../conformance/csi-conformance.js';

const MIB = 1024 * 1024;
const cap = { mount: { fs_type: '' }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

describe('local driver: identity and controller (fake sysfs)', function () {
  let dir: string;
  let sys: string;
  let driver: LocalDriverHandle;
  let client: CsiClient;
  const commands: string[] = [];
  const exec: Exec = {
    async run(command, args) {
      commands.push([command, ...args].join(' '));
      if (command === 'losetup' && args[0] === '-f') {
        attach(5, args[2]!); // a block volume's stage attaches loop5
        return { stdout: '/dev/loop5\n', stderr: '', exitCode: 0 };
      }
      return { stdout: '', stderr: '', exitCode: 0 };
    },
  };

  /** Makes the fake sysfs show `file` attached to loop<n>. */
  function attach(n: number, file: string): void {
    const loopDir = path.join(sys, 'block', `loop${n}`);
    mkdirSync(path.join(loopDir, 'loop'), { recursive: true });
    writeFileSync(path.join(loopDir, 'dev'), `7:${n}\n`);
    writeFileSync(path.join(loopDir, 'loop', 'backing_file'), `${file}\n`);
  }

  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-local-ctl-'));
    sys = path.join(dir, 'sys');
    mkdirSync(path.join(sys, 'block'), { recursive: true });
    commands.length = 0;
    await start();
  });

  async function start(): Promise<void> {
    driver = await startLocalDriver({
      endpoint: `unix://${path.join(dir, 'csi.sock')}`,
      nodeId: 'node-a',
      dataDir: path.join(dir, 'data'),
      exec,
      loops: new LoopDevices({ exec, sysRoot: sys }),
    });
    client = new CsiClient(driver.socketPath, { timeoutMs: 10_000 });
  }

  afterEach(async function () {
    client.close();
    await driver.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('identity: name, capabilities, probe', async function () {
    const info = await client.getPluginInfo();
    assert.equal(info.name, DRIVER_NAME);
    assert.ok(info.vendor_version);
    const caps = (await client.getPluginCapabilities()).capabilities;
    assert.deepEqual(
      caps.map((c) => c.service?.type ?? c.volume_expansion?.type),
      ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS', 'ONLINE'],
    );
    assert.equal((await client.probe()).ready?.value, true);
    const ctl = (await client.controllerGetCapabilities()).capabilities.map((c) => c.rpc?.type);
    assert.deepEqual(ctl, [
      'CREATE_DELETE_VOLUME',
      'GET_CAPACITY',
      'EXPAND_VOLUME',
      'LIST_VOLUMES',
      'CREATE_DELETE_SNAPSHOT',
      'LIST_SNAPSHOTS',
      'CLONE_VOLUME',
    ]);
    const info2 = await client.nodeGetInfo();
    assert.equal(info2.node_id, 'node-a');
    assert.equal(info2.max_volumes_per_node, '0');
    assert.deepEqual(info2.accessible_topology?.segments, { [TOPOLOGY_KEY]: 'node-a' });
  });

  it('CreateVolume records the volume (its file is made at first use); same request again is the same volume', async function () {
    const request = {
      name: 'pvc-1',
      capacity_range: { required_bytes: String(10 * MIB + 1) },
      volume_capabilities: [cap],
    };
    const volume = (await client.createVolume(request)).volume!;
    assert.equal(volume.volume_id, 'node-a/pvc-1');
    assert.equal(volume.capacity_bytes, String(11 * MIB));
    assert.deepEqual(volume.accessible_topology, [{ segments: { [TOPOLOGY_KEY]: 'node-a' } }]);
    assert.ok(!existsSync(path.join(dir, 'data', 'pvc-1.img')), 'no backing file before the first stage');
    assert.ok(statSync(path.join(dir, 'data', 'volumes.log')).isFile());
    assert.deepEqual((await client.createVolume(request)).volume, volume);
    await expectCode(
      client.createVolume({ ...request, capacity_range: { required_bytes: String(20 * MIB) } }),
      status.ALREADY_EXISTS,
      'bigger',
    );
    await expectCode(
      client.createVolume({ ...request, volume_capabilities: [{ block: {}, access_mode: cap.access_mode }] }),
      status.ALREADY_EXISTS,
      'block instead of mount',
    );
  });

  it('DeleteVolume twice, then CreateVolume of the same name again, gives a new volume of the new size', async function () {
    const request = {
      name: 'pvc-again',
      capacity_range: { required_bytes: String(MIB) },
      volume_capabilities: [cap],
    };
    const first = (await client.createVolume(request)).volume!;
    await client.deleteVolume({ volume_id: first.volume_id });
    await client.deleteVolume({ volume_id: first.volume_id });
    assert.ok(!existsSync(path.join(dir, 'data', 'pvc-again.img')));
    assert.ok(!existsSync(path.join(dir, 'data', 'pvc-again.json')));
    await expectCode(
      client.nodeGetVolumeStats({ volume_id: first.volume_id, volume_path: dir }),
      status.NOT_FOUND,
      'gone',
    );
    const bigger = { ...request, capacity_range: { required_bytes: String(2 * MIB) } };
    const second = (await client.createVolume(bigger)).volume!;
    assert.equal(second.capacity_bytes, String(2 * MIB));
    assert.deepEqual(
      (await client.listVolumes()).entries.map((e) => [e.volume?.volume_id, e.volume?.capacity_bytes]),
      [[second.volume_id, String(2 * MIB)]],
    );
    await client.deleteVolume({ volume_id: second.volume_id });
    assert.ok(!existsSync(path.join(dir, 'data', 'pvc-again.img')));
  });

  it('CreateVolume: names that are not file names are hashed; default size is 1 GiB', async function () {
    const volume = (await client.createVolume({ name: '../../etc/passwd', volume_capabilities: [cap] }))
      .volume!;
    assert.match(volume.volume_id, /^node-a\/_[0-9a-f]{40}$/);
    assert.equal(volume.capacity_bytes, String(1024 * MIB));
    const again = (await client.createVolume({ name: '../../etc/passwd', volume_capabilities: [cap] }))
      .volume!;
    assert.equal(again.volume_id, volume.volume_id);
  });

  it('CreateVolume refusals: missing content source, other node, more than the disk holds', async function () {
    await expectCode(
      client.createVolume({
        name: 'clone',
        volume_capabilities: [cap],
        volume_content_source: { volume: { volume_id: 'node-a/x' } },
      }),
      status.NOT_FOUND,
    );
    await expectCode(
      client.createVolume({
        name: 'far',
        volume_capabilities: [cap],
        accessibility_requirements: { requisite: [{ segments: { [TOPOLOGY_KEY]: 'node-b' } }] },
      }),
      status.RESOURCE_EXHAUSTED,
    );
    await expectCode(
      client.createVolume({
        name: 'huge',
        volume_capabilities: [cap],
        capacity_range: { required_bytes: String(2n ** 60n) },
      }),
      status.RESOURCE_EXHAUSTED,
    );
  });

  it('DeleteVolume: FAILED_PRECONDITION while a loop device serves the file, then deletes', async function () {
    const block = { block: {}, access_mode: cap.access_mode };
    const id = (await client.createVolume({ name: 'busy', volume_capabilities: [block] })).volume!.volume_id;
    const image = path.join(dir, 'data', 'busy.img');
    assert.ok(!existsSync(image), 'a volume never staged has no backing file');
    // staging a block volume makes its backing file and attaches a loop device to it
    await client.nodeStageVolume({
      volume_id: id,
      staging_target_path: path.join(dir, 'staging'),
      volume_capability: block,
    });
    assert.ok(commands.includes(`losetup -f --show ${image}`));
    assert.equal(statSync(image).size, Number(1n << 30n), 'a sparse file of the volume size');
    await expectCode(client.deleteVolume({ volume_id: id }), status.FAILED_PRECONDITION);
    rmSync(path.join(sys, 'block', 'loop5'), { recursive: true });
    await client.deleteVolume({ volume_id: id });
    await client.deleteVolume({ volume_id: id });
    await client.deleteVolume({ volume_id: 'node-b/busy' });
    assert.equal((await client.listVolumes()).entries.length, 0);
    assert.ok(!existsSync(image));
  });

  it('ListVolumes pages with tokens and refuses a bad token with ABORTED', async function () {
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      await client.createVolume({
        name,
        capacity_range: { required_bytes: String(MIB) },
        volume_capabilities: [cap],
      });
    }
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await client.listVolumes({ max_entries: 2, starting_token: token });
      seen.push(...page.entries.map((e) => e.volume!.volume_id));
      token = page.next_token;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(
      seen,
      ['a', 'b', 'c', 'd', 'e'].map((n) => `node-a/${n}`),
    );
    await expectCode(client.listVolumes({ starting_token: '99' }), status.ABORTED);
    await expectCode(client.listVolumes({ starting_token: 'x' }), status.ABORTED);
  });

  it('ValidateVolumeCapabilities confirms fitting capabilities only', async function () {
    const id = (
      await client.createVolume({
        name: 'v',
        volume_capabilities: [{ mount: { fs_type: 'xfs' }, access_mode: cap.access_mode }],
      })
    ).volume!.volume_id;
    assert.ok(
      (await client.validateVolumeCapabilities({ volume_id: id, volume_capabilities: [cap] })).confirmed,
    );
    const ext4 = await client.validateVolumeCapabilities({
      volume_id: id,
      volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: cap.access_mode }],
    });
    assert.equal(ext4.confirmed, null);
    assert.match(ext4.message, /does not fit/);
    const multi = await client.validateVolumeCapabilities({
      volume_id: id,
      volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }],
    });
    assert.equal(multi.confirmed, null);
  });

  it('GetCapacity reports free space here and nothing for other nodes', async function () {
    const here = await client.getCapacity({ volume_capabilities: [cap] });
    assert.ok(BigInt(here.available_capacity) > 0n);
    const elsewhere = await client.getCapacity({
      accessible_topology: { segments: { [TOPOLOGY_KEY]: 'node-b' } },
    });
    assert.equal(elsewhere.available_capacity, '0');
  });

  it('ControllerExpandVolume grows the volume, never shrinks, and refreshes an attached loop device', async function () {
    const id = (
      await client.createVolume({
        name: 'g',
        capacity_range: { required_bytes: String(4 * MIB) },
        volume_capabilities: [cap],
      })
    ).volume!.volume_id;
    const image = path.join(dir, 'data', 'g.img');
    attach(6, image);
    const grown = await client.controllerExpandVolume({
      volume_id: id,
      capacity_range: { required_bytes: String(8 * MIB) },
    });
    assert.equal(grown.capacity_bytes, String(8 * MIB));
    assert.equal(grown.node_expansion_required, true);
    assert.ok(!existsSync(image), 'a volume never staged has no file to grow: it is made at its new size');
    assert.ok(commands.includes('losetup -c /dev/loop6'));
    const same = await client.controllerExpandVolume({
      volume_id: id,
      capacity_range: { required_bytes: String(2 * MIB) },
    });
    assert.equal(same.capacity_bytes, String(8 * MIB));
    await expectCode(
      client.controllerExpandVolume({
        volume_id: id,
        capacity_range: { required_bytes: '1', limit_bytes: String(MIB) },
      }),
      status.OUT_OF_RANGE,
    );
    const listed = await client.listVolumes();
    assert.equal(listed.entries[0]?.volume?.capacity_bytes, String(8 * MIB));
  });

  it('a leftover backing file without a record is removed when the name is created again', async function () {
    client.close();
    await driver.shutdown();
    writeFileSync(path.join(dir, 'data', 'old.img'), Buffer.alloc(4096, 9));
    await start();
    await client.createVolume({
      name: 'old',
      capacity_range: { required_bytes: String(MIB) },
      volume_capabilities: [cap],
    });
    assert.ok(!existsSync(path.join(dir, 'data', 'old.img')), 'old data is gone');
  });
});

describe('local driver command arguments', function () {
  it('parses --endpoint, --node-id and --data-dir; endpoint may come from CSI_ENDPOINT', function () {
    assert.deepEqual(
      parseLocalDriverArgs(['--endpoint', 'unix:///run/csi.sock', '--node-id', 'n1', '--data-dir', '/d'], {}),
      { endpoint: 'unix:///run/csi.sock', nodeId: 'n1', dataDir: '/d' },
    );
    const fromEnv = parseLocalDriverArgs(['--data-dir', '/d'], { CSI_ENDPOINT: 'unix:///x.sock' });
    assert.equal(fromEnv.endpoint, 'unix:///x.sock');
    assert.equal(fromEnv.nodeId, os.hostname());
    assert.throws(() => parseLocalDriverArgs(['--node-id', 'n1'], {}), /usage/);
    assert.throws(() => parseLocalDriverArgs(['--bogus'], {}), /bogus/);
  });
});
