// `berth node-plugin` as its own process, driven by a kubelet-side client of the published
// pluginregistration v1 protocol: find the Registration socket in plugins_registry, GetInfo,
// NotifyRegistrationStatus, then dial the endpoint it names and stage/publish a volume with the
// kubelet's own kind of paths. A rejected registration ends the plugin, as node-driver-registrar.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import type { PartialMessage, VolumeCapability } from '../../src/csi/types.js';
import { DRIVER_NAME } from '../../src/drivers/local/index.js';
import { highestSupportedVersion, RegistrationClient } from '../../src/node/index.js';
import { loopsUnder, mountsUnder, realDiskUnavailable, sweepHost } from '../conformance/host.js';
import { spawnBerth, type Spawned } from '../helpers/berth-process.js';
import { eventually } from '../helpers/eventually.js';
import { skipUnless } from '../helpers/skip.js';

const cap: PartialMessage<VolumeCapability> = {
  mount: { fs_type: 'ext4', mount_flags: [] },
  access_mode: { mode: 'SINGLE_NODE_WRITER' },
};

describe('berth node-plugin (kubelet plugin registration)', function () {
  this.timeout(120_000);
  let dir: string;
  let plugin: Spawned | undefined;
  const registry = () => path.join(dir, 'plugins_registry');
  const regSocket = () => path.join(registry(), `${DRIVER_NAME}-reg.sock`);
  const csiSocket = () => path.join(dir, 'plugins', DRIVER_NAME, 'csi.sock');

  function startPlugin(): Spawned {
    plugin = spawnBerth([
      'node-plugin',
      '--driver=local',
      `--csi-address=${csiSocket()}`,
      `--kubelet-registration-path=${csiSocket()}`,
      '--plugin-registration-dir',
      registry(),
      '--node-id=node-a',
      `--data-dir=${path.join(dir, 'data')}`,
    ]);
    return plugin;
  }

  async function registrationSocketAppears(p: Spawned): Promise<void> {
    await eventually('the registration socket', async () => {
      if (p.child.exitCode !== null) throw new Error(`node-plugin exited: ${p.stderr()}`);
      return existsSync(regSocket());
    });
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-node-plugin-'));
  });

  afterEach(async function () {
    if (plugin && plugin.child.exitCode === null) {
      plugin.child.kill('SIGTERM');
      await plugin.exited;
    }
    plugin = undefined;
    const leftovers = { mounts: mountsUnder(dir), loops: loopsUnder(dir) };
    sweepHost(dir);
    rmSync(dir, { recursive: true, force: true });
    if (this.currentTest?.state === 'passed') assert.deepEqual(leftovers, { mounts: [], loops: [] });
  });

  /** What the kubelet does with a new socket in plugins_registry; answers the endpoint to dial. */
  async function registerAsKubelet(p: Spawned): Promise<string> {
    await registrationSocketAppears(p);
    const kubelet = new RegistrationClient(regSocket());
    const info = await kubelet.getInfo();
    assert.deepEqual(
      { type: info.type, name: info.name, endpoint: info.endpoint },
      { type: 'CSIPlugin', name: DRIVER_NAME, endpoint: csiSocket() },
    );
    assert.deepEqual(highestSupportedVersion(info.supported_versions), { version: '1.0.0' });
    await kubelet.notifyRegistrationStatus({ plugin_registered: true, error: '' });
    kubelet.close();
    await eventually('the plugin to log its registration', async () =>
      /registered with the kubelet/.test(p.stderr()),
    );
    return info.endpoint;
  }

  it('registers with the kubelet, answers NodeGetInfo at the endpoint it named, and unregisters on exit', async function () {
    const p = startPlugin();
    const csi = new CsiClient(await registerAsKubelet(p), { timeoutMs: 60_000 });
    try {
      assert.equal((await csi.nodeGetInfo({})).node_id, 'node-a');
    } finally {
      csi.close();
    }
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.equal(
      existsSync(regSocket()),
      false,
      'registration socket removed on exit (the kubelet unregisters)',
    );
    assert.equal(existsSync(csiSocket()), false, 'CSI socket removed on exit');
  });

  it('stages and publishes a volume at kubelet paths through the registered endpoint (real loop and mount)', async function () {
    const unavailable = realDiskUnavailable();
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    const p = startPlugin();
    const csi = new CsiClient(await registerAsKubelet(p), { timeoutMs: 60_000 });
    try {
      const volume = (
        await csi.createVolume({
          name: 'pvc-node-plugin',
          capacity_range: { required_bytes: String(64 * 1024 * 1024) },
          volume_capabilities: [cap],
        })
      ).volume!;
      // the kubelet's paths: a global mount per volume, then one per pod
      const staging = path.join(dir, 'plugins/kubernetes.io/csi', DRIVER_NAME, 'abc/globalmount');
      const target = path.join(dir, 'pods/uid-1/volumes/kubernetes.io~csi/pv-1/mount');
      await csi.nodeStageVolume({
        volume_id: volume.volume_id,
        staging_target_path: staging,
        volume_capability: cap,
      });
      await csi.nodePublishVolume({
        volume_id: volume.volume_id,
        staging_target_path: staging,
        target_path: target,
        volume_capability: cap,
      });
      assert.ok(mountsUnder(dir).includes(target), 'published target is a mount');
      await writeFile(path.join(target, 'hello'), 'through the kubelet path');
      assert.equal(await readFile(path.join(staging, 'hello'), 'utf8'), 'through the kubelet path');
      await csi.nodeUnpublishVolume({ volume_id: volume.volume_id, target_path: target });
      await csi.nodeUnstageVolume({ volume_id: volume.volume_id, staging_target_path: staging });
      await csi.deleteVolume({ volume_id: volume.volume_id });
      assert.deepEqual(mountsUnder(dir), []);
    } finally {
      csi.close();
    }
  });

  it('exits 1 and removes its sockets when the kubelet reports the registration failed', async function () {
    const p = startPlugin();
    await registrationSocketAppears(p);
    const kubelet = new RegistrationClient(regSocket());
    await kubelet.getInfo();
    await kubelet.notifyRegistrationStatus({
      plugin_registered: false,
      error: 'version 1.0.0 not supported',
    });
    kubelet.close();
    assert.equal(await p.exited, 1);
    assert.match(p.stderr(), /registration process failed.*version 1\.0\.0 not supported/);
    assert.equal(existsSync(regSocket()), false);
    assert.equal(existsSync(csiSocket()), false);
  });
});
