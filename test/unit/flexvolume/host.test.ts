import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Pod } from '../../../src/api/types.js';
import { FlexDriverProber } from '../../../src/flexvolume/discovery.js';
import { FlexVolumeHost } from '../../../src/flexvolume/host.js';
import { FlexPaths } from '../../../src/volume/flex-names.js';
import type { FlexVolumeSpec } from '../../../src/volume/flex-spec.js';
import { systemExec } from '../../../src/host/exec.js';
import {
  type Answer,
  installScriptedDriver,
  MemoryMounter,
  notSupported,
  type ScriptedDriver,
  success,
  tempDir,
} from './helpers.js';

const pod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-1' },
  spec: { containers: [{ name: 'c' }] },
};
const spec: FlexVolumeSpec = {
  driver: 'acme/disk',
  name: 'pv-1',
  source: { driver: 'acme/disk', fsType: 'ext4', options: { size: '1Gi' } },
  readOnly: false,
};

describe('flexvolume/host: the call convention and the "Not supported" defaults', () => {
  let root: string;
  let paths: FlexPaths;
  let prober: FlexDriverProber;
  let mounter: MemoryMounter;
  let host: FlexVolumeHost;
  let driver: ScriptedDriver;

  async function setup(behaviour: Record<string, Answer>): Promise<void> {
    driver = await installScriptedDriver(paths.pluginDir(), 'acme/disk', { init: success(), ...behaviour });
    prober = new FlexDriverProber({
      pluginDir: paths.pluginDir(),
      exec: systemExec(),
      pollMs: 0,
      watch: false,
    });
    await prober.start();
    host = new FlexVolumeHost({ drivers: prober, exec: systemExec(), mounter, timeoutMs: 10_000 });
  }

  beforeEach(async () => {
    root = await tempDir('berth-flex-host-');
    paths = new FlexPaths(root);
    mounter = new MemoryMounter();
  });
  afterEach(async () => {
    await prober?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('calls every command with kubelet argv: attach, waitforattach, isattached, mountdevice, mount, unmount, unmountdevice, detach', async () => {
    await setup({ '*': success({ device: '/dev/acme0', attached: true, volumeName: 'disk-7' }) });
    const globalDir = paths.deviceMountPath('acme/disk', 'disk-7');
    const podDir = paths.podVolumePath('uid-1', 'acme/disk', 'disk-7');
    assert.equal(await host.volumeName(spec), 'disk-7');
    assert.equal(await host.attach(spec, 'node-a'), '/dev/acme0');
    assert.equal(await host.waitForAttach(spec, '/dev/acme0'), '/dev/acme0');
    assert.equal(await host.isAttached(spec, 'node-a'), true);
    await host.mountDevice(globalDir, '/dev/acme0', spec, pod);
    mounter.mounts.set(globalDir, { source: '/dev/acme0', options: {}, bind: false }); // as the driver would
    await host.setUp(podDir, spec, pod, globalDir);
    await host.tearDown(podDir);
    mounter.goneAfterNextCheck.add(globalDir); // the driver's unmountdevice unmounts it
    await host.unmountDevice(globalDir);
    await host.detach('disk-7', 'node-a', 'acme/disk');

    const base = {
      'kubernetes.io/fsType': 'ext4',
      'kubernetes.io/readwrite': 'rw',
      'kubernetes.io/pvOrVolumeName': 'pv-1',
      size: '1Gi',
    };
    const withPod = {
      'kubernetes.io/fsType': 'ext4',
      'kubernetes.io/readwrite': 'rw',
      'kubernetes.io/pvOrVolumeName': 'pv-1',
      'kubernetes.io/pod.name': 'web',
      'kubernetes.io/pod.namespace': 'shop',
      'kubernetes.io/pod.uid': 'uid-1',
      'kubernetes.io/serviceAccount.name': 'default',
      size: '1Gi',
    };
    const calls = (await driver.calls()).slice(1); // after init
    const decoded = calls.map((argv) => argv.map((a) => (a.startsWith('{') ? JSON.parse(a) : a)));
    assert.deepEqual(decoded, [
      ['getvolumename', base],
      ['attach', base, 'node-a'],
      ['waitforattach', '/dev/acme0', base],
      ['isattached', base, 'node-a'],
      ['mountdevice', globalDir, '/dev/acme0', base],
      ['mount', podDir, withPod],
      ['unmount', podDir],
      ['unmountdevice', globalDir],
      ['detach', 'disk-7', 'node-a'],
    ]);
    assert.equal(globalDir, path.join(root, 'plugins/kubernetes.io/flexvolume/acme/disk/mounts/disk-7'));
    assert.equal(podDir, path.join(root, 'pods/uid-1/volumes/acme~disk/disk-7'));
    await assert.rejects(fs.access(podDir));
    await assert.rejects(fs.access(globalDir));
  });

  it('"Not supported" falls back to berth\'s defaults, and is remembered (not asked again)', async () => {
    await setup({ '*': notSupported });
    const globalDir = paths.deviceMountPath('acme/disk', 'pv-1');
    const podDir = paths.podVolumePath('uid-1', 'acme/disk', 'pv-1');
    assert.equal(await host.volumeName(spec), 'pv-1'); // the spec's name
    assert.equal(await host.attach(spec, 'node-a'), ''); // nothing to attach
    assert.equal(await host.waitForAttach(spec, ''), '');
    assert.equal(await host.isAttached(spec, 'node-a'), true);
    await host.mountDevice(globalDir, '', spec, pod); // no device: nothing to mount
    assert.equal(mounter.mounts.size, 0);
    // mount falls back to binding the device mount into the pod
    await assert.rejects(host.setUp(podDir, spec, pod, globalDir), /no device is mounted to bind/);
    mounter.mounts.set(globalDir, { source: '/dev/x', options: {}, bind: false });
    await host.setUp(podDir, spec, pod, globalDir);
    assert.deepEqual(mounter.mounts.get(podDir), { source: globalDir, options: {}, bind: true });
    // unmount and unmountdevice fall back to berth unmounting
    await host.tearDown(podDir);
    await host.unmountDevice(globalDir);
    assert.equal(mounter.mounts.size, 0);
    await host.detach('pv-1', 'node-a', 'acme/disk');
    const commands = await driver.commands();
    for (const c of ['getvolumename', 'attach', 'mount', 'unmount', 'unmountdevice', 'detach']) {
      assert.equal(commands.filter((x) => x === c).length, 1, `${c} asked once`);
    }
  });

  it('a read-only volume is bound read-only; unmountdevice of a directory that is not mounted skips the driver', async () => {
    await setup({ '*': notSupported });
    const globalDir = paths.deviceMountPath('acme/disk', 'pv-1');
    await fs.mkdir(globalDir, { recursive: true });
    mounter.mounts.set(globalDir, { source: '/dev/x', options: {}, bind: false });
    await host.setUp(
      paths.podVolumePath('uid-1', 'acme/disk', 'pv-1'),
      { ...spec, readOnly: true },
      pod,
      globalDir,
    );
    assert.match(mounter.log.at(-1) ?? '', / ro$/);
    mounter.mounts.delete(globalDir);
    await host.unmountDevice(globalDir);
    assert.equal((await driver.commands()).includes('unmountdevice'), false);
    await assert.rejects(fs.access(globalDir));
  });

  it('a volume naming a driver that is not installed fails with NoDriver', async () => {
    await setup({});
    await assert.rejects(
      host.attach({ ...spec, driver: 'acme/none' }, 'n'),
      /acme\/none: init no such driver is installed/,
    );
  });

  it('a secretRef is read and passed base64 to mount; a missing secret fails the mount', async () => {
    await setup({ '*': success() });
    const withSecret = { ...spec, source: { ...spec.source, secretRef: { name: 'creds' } } };
    host = new FlexVolumeHost({
      drivers: prober,
      exec: systemExec(),
      mounter,
      readSecret: async (ns, name) =>
        ns === 'shop' && name === 'creds'
          ? { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data: { key: 'czNjcjN0' } }
          : undefined,
    });
    await host.setUp(paths.podVolumePath('uid-1', 'acme/disk', 'pv-1'), withSecret, pod);
    const mount = (await driver.calls()).find((argv) => argv[0] === 'mount')!;
    assert.equal(JSON.parse(mount[2]!)['kubernetes.io/secret/key'], 'czNjcjN0');
    const otherPod = { ...pod, metadata: { ...pod.metadata, namespace: 'elsewhere' } };
    await assert.rejects(
      host.setUp(paths.podVolumePath('uid-2', 'acme/disk', 'pv-1'), withSecret, otherPod),
      /cannot read secret elsewhere\/creds/,
    );
  });
});
