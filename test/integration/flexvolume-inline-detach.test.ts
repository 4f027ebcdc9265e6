// Inline FlexVolumes of an attachable driver through the whole of berth (root): an embedded berth
// with one node and the attach/detach controller, the sample berth/loop driver behind a driver that
// logs its calls, real loop devices and mounts. Two pods whose inline volumes are both called
// "data" get two attachments and two device mounts (named <pod uid>-data); deleting one pod
// detaches its volume within a few reconciles (the seconds are printed) and leaves the other's
// mount, data and loop device alone.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Node, Pod } from '../../src/api/types.js';
import type { RestClient } from '../../src/client/rest.js';
import { FlexPaths, uniqueFlexVolumeName } from '../../src/volume/flex-names.js';
import { loopsUnder, mountsUnder, realDiskUnavailable } from '../conformance/host.js';
import { eventually } from '../helpers/eventually.js';
import { FLEX_EXAMPLES, type FlexBerth, startFlexBerth } from '../helpers/flex-berth.js';
import { skipUnless } from '../helpers/skip.js';
import { installLoggedDriver, type TimedCall } from '../unit/flexvolume/helpers.js';

const unavailable = realDiskUnavailable(['mountpoint', 'truncate', 'node']);
const DRIVER = 'berth/logged';

describe('FlexVolume inline volumes: one attachment per pod, detached as the pod goes', function () {
  this.timeout(180_000);
  let flex: FlexBerth | undefined;
  let dir: string;
  let rootDir: string;
  let api: RestClient;
  let driverCalls: () => Promise<TimedCall[]>;

  before(async function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    flex = await startFlexBerth('berth-flex-inline-', async (pluginDir) => {
      const sample = path.join(FLEX_EXAMPLES, 'berth~loop', 'loop');
      driverCalls = (await installLoggedDriver(pluginDir, DRIVER, sample)).calls;
    });
    ({ dir, rootDir, api } = flex);
  });

  after(async function () {
    await flex?.stop();
  });

  const pod = (name: string, file: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [
        { name: 'data', flexVolume: { driver: DRIVER, fsType: 'ext4', options: { file, size: '16Mi' } } },
      ],
    },
  });

  const running = async (name: string) => {
    const { pod, hostPath } = await flex!.running(name);
    return { uid: pod.metadata.uid ?? '', hostPath };
  };

  const attachedNames = async () =>
    ((await api.get<Node>(K.node, undefined, 'node-1')).status?.volumesAttached ?? [])
      .map((a) => a.name)
      .sort();
  // each backing file has a directory of its own, so its loop devices are those under it
  const loopOf = (file: string) => loopsUnder(path.dirname(file));

  /** Deletes the pod; answers seconds until detach was called and until its loop device was gone. */
  async function deleteAndTime(name: string, file: string): Promise<{ detachS: number; releasedS: number }> {
    const detachesBefore = (await driverCalls()).filter((c) => c.command === 'detach').length;
    const start = Date.now();
    await api.delete(K.pod, 'default', name);
    // within a few reconciles; the bound is only the generous default of the poll
    const detach = await eventually(
      `detach called for ${name}`,
      async () => (await driverCalls()).filter((c) => c.command === 'detach')[detachesBefore],
      60_000,
      50,
    );
    await eventually(`loop device of ${name} released`, async () => loopOf(file).length === 0, 60_000, 50);
    const releasedS = (Date.now() - start) / 1000;
    return { detachS: (detach.at - start) / 1000, releasedS };
  }

  it('two pods with inline "data" volumes: separate attachments and mounts; deleting one leaves the other', async () => {
    const fileA = path.join(dir, 'disks', 'a', 'disk.img');
    const fileB = path.join(dir, 'disks', 'b', 'disk.img');
    await api.create(K.pod, pod('pod-a', fileA));
    await api.create(K.pod, pod('pod-b', fileB));
    const a = await running('pod-a');
    const b = await running('pod-b');
    const paths = new FlexPaths(rootDir);
    assert.equal(a.hostPath, paths.podVolumePath(a.uid, DRIVER, `${a.uid}-data`));
    assert.equal(b.hostPath, paths.podVolumePath(b.uid, DRIVER, `${b.uid}-data`));
    const globalA = paths.deviceMountPath(DRIVER, `${a.uid}-data`);
    const globalB = paths.deviceMountPath(DRIVER, `${b.uid}-data`);
    assert.deepEqual(mountsUnder(dir).sort(), [a.hostPath, b.hostPath, globalA, globalB].sort());
    assert.equal(loopOf(fileA).length, 1, 'a loop device for pod-a');
    assert.equal(loopOf(fileB).length, 1, 'a loop device for pod-b');
    assert.deepEqual(
      await attachedNames(),
      [uniqueFlexVolumeName(DRIVER, `${a.uid}-data`), uniqueFlexVolumeName(DRIVER, `${b.uid}-data`)].sort(),
    );
    await fs.writeFile(path.join(a.hostPath, 'who'), 'a');
    await fs.writeFile(path.join(b.hostPath, 'who'), 'b');
    assert.equal(await fs.readFile(path.join(globalA, 'who'), 'utf8'), 'a');
    assert.equal(await fs.readFile(path.join(globalB, 'who'), 'utf8'), 'b');

    const first = await deleteAndTime('pod-a', fileA);
    console.log(
      `      pod-a deleted: detach called after ${first.detachS.toFixed(1)} s, loop device released after ${first.releasedS.toFixed(1)} s`,
    );
    await eventually(
      'pod-a no longer attached',
      async () => (await attachedNames()).join() === uniqueFlexVolumeName(DRIVER, `${b.uid}-data`),
    );
    // pod-b is untouched: its mounts, its data, its loop device
    assert.deepEqual(mountsUnder(dir).sort(), [b.hostPath, globalB].sort());
    assert.equal(await fs.readFile(path.join(b.hostPath, 'who'), 'utf8'), 'b');
    assert.equal(loopOf(fileB).length, 1);
    assert.equal((await api.get<Pod>(K.pod, 'default', 'pod-b')).status?.phase, 'Running');

    const second = await deleteAndTime('pod-b', fileB);
    console.log(
      `      pod-b deleted: detach called after ${second.detachS.toFixed(1)} s, loop device released after ${second.releasedS.toFixed(1)} s`,
    );
    await eventually('nothing attached', async () => (await attachedNames()).length === 0);
    assert.deepEqual(mountsUnder(dir), []);
    assert.deepEqual(loopsUnder(dir), []);
    // the node's calls, in kubelet's order, for each volume: unmountdevice before detach
    const commands = (await driverCalls()).map((c) => c.command);
    for (const command of ['attach', 'waitforattach', 'mountdevice', 'unmountdevice', 'detach'])
      assert.equal(
        commands.filter((c) => c === command).length,
        2,
        `${command} once per pod: ${commands.join()}`,
      );
    assert.ok(commands.lastIndexOf('unmountdevice') < commands.lastIndexOf('detach'));
  });
});
