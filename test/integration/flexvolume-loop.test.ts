// The sample attachable driver berth/loop through the whole FlexVolume lifecycle with real loop
// devices, mkfs and mounts: attach -> waitforattach -> mountdevice -> mount (berth's default bind,
// since the driver answers "Not supported") for two pods sharing a PV, then teardown in reverse;
// the device mount and the loop device go only with the last pod. Behind a driver that logs its
// calls: kubelet's whole call sequence, and the plain unmount when unmountdevice is not supported.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Event, PersistentVolume, Pod } from '../../src/api/types.js';
import { FlexDriverProber } from '../../src/flexvolume/discovery.js';
import { FlexVolumeHost } from '../../src/flexvolume/host.js';
import { FlexPaths } from '../../src/volume/flex-names.js';
import { FlexVolumeReconciler } from '../../src/flexvolume/reconciler.js';
import { flexSpecFromPodVolume, flexSpecFromVolume } from '../../src/volume/flex-spec.js';
import { EventRecorder } from '../../src/machinery/events.js';
import { ItemExponentialFailureRateLimiter } from '../../src/machinery/rate-limiter.js';
import { systemExec } from '../../src/host/exec.js';
import { SystemMounter } from '../../src/host/mounter.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { loopsUnder, mountsUnder, realDiskUnavailable, sweepHost } from '../conformance/host.js';
import { skipUnless } from '../helpers/skip.js';
import { installLoggedDriver, tempDir } from '../unit/flexvolume/helpers.js';

const sampleDriver = path.join(
  import.meta.dirname,
  '..',
  '..',
  'examples',
  'flexvolume',
  'berth~loop',
  'loop',
);
const unavailable = realDiskUnavailable(['mountpoint', 'truncate', 'node']);

describe('flexvolume: berth/loop on real loop devices', function () {
  let root: string;
  let store: EmbeddedStore | undefined;
  let prober: FlexDriverProber | undefined;
  let reconciler: FlexVolumeReconciler | undefined;
  let recorder: EventRecorder | undefined;
  let savedStateDir: string | undefined;

  before(function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
  });

  beforeEach(async () => {
    root = await tempDir('berth-flex-loop-');
    savedStateDir = process.env['BERTH_LOOP_STATE_DIR'];
    // the driver keeps its attach records here; the driver process inherits it
    process.env['BERTH_LOOP_STATE_DIR'] = path.join(root, 'driver-state');
  });
  afterEach(async () => {
    await reconciler?.stop();
    await prober?.stop();
    await recorder?.flush();
    await store?.close();
    [reconciler, prober, recorder, store] = [undefined, undefined, undefined, undefined];
    if (savedStateDir === undefined) delete process.env['BERTH_LOOP_STATE_DIR'];
    else process.env['BERTH_LOOP_STATE_DIR'] = savedStateDir;
    const leftovers = sweepHost(root);
    await fs.rm(root, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'the test left mounts or loop devices behind');
  });

  /** A node's FlexVolume part over `paths`: the drivers installed there, a host, the reconciler. */
  async function startNode(paths: FlexPaths): Promise<FlexVolumeReconciler> {
    store = await openEmbeddedStore({ dataDir: path.join(root, 'store') });
    recorder = new EventRecorder({ store, component: 'berth-node', host: 'node-a' });
    const exec = systemExec({ timeoutMs: 60_000 });
    prober = new FlexDriverProber({ pluginDir: paths.pluginDir(), exec, pollMs: 0 });
    await prober.start();
    const host = new FlexVolumeHost({
      drivers: prober,
      exec,
      mounter: new SystemMounter({ exec }),
      timeoutMs: 60_000,
    });
    reconciler = new FlexVolumeReconciler({
      host,
      paths,
      nodeName: 'node-a',
      recorder,
      rateLimiter: new ItemExponentialFailureRateLimiter(100, 1000),
    });
    reconciler.start();
    return reconciler;
  }

  it('attach -> waitforattach -> mountdevice -> mount, a PV shared by two pods, and back', async () => {
    const paths = new FlexPaths(path.join(root, 'node'));
    const driverDir = path.join(paths.pluginDir(), 'berth~loop');
    await fs.mkdir(driverDir, { recursive: true });
    await fs.copyFile(sampleDriver, path.join(driverDir, 'loop'));
    await fs.chmod(path.join(driverDir, 'loop'), 0o755);
    const reconciler = await startNode(paths);
    assert.equal(prober!.get('berth/loop')?.capabilities.attach, true);

    const backing = path.join(root, 'disks', 'data.img');
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'data' },
      spec: {
        capacity: { storage: '32Mi' },
        accessModes: ['ReadWriteMany'],
        flexVolume: { driver: 'berth/loop', fsType: 'ext4', options: { file: backing, size: '32Mi' } },
      },
    };
    const pod = (uid: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-${uid}`, namespace: 'default', uid },
      spec: {
        containers: [{ name: 'c' }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      },
    });
    const podA = pod('uid-a');
    const podB = pod('uid-b');
    const spec = { ...flexSpecFromVolume(pv)!, podVolumeName: 'data' };

    reconciler.ensurePod(podA, [spec]);
    reconciler.ensurePod(podB, [spec]);
    await reconciler.whenIdle();
    assert.equal(reconciler.podStatus('uid-a')?.ready, true, reconciler.podStatus('uid-a')?.lastError);
    assert.equal(reconciler.podStatus('uid-b')?.ready, true, reconciler.podStatus('uid-b')?.lastError);

    const globalDir = paths.deviceMountPath('berth/loop', 'data');
    const dirA = paths.podVolumePath('uid-a', 'berth/loop', 'data');
    const dirB = paths.podVolumePath('uid-b', 'berth/loop', 'data');
    assert.equal((await fs.stat(backing)).size, 32 * 1024 * 1024);
    const [loop, ...moreLoops] = loopsUnder(root);
    assert.ok(loop, 'a loop device on the backing file');
    assert.deepEqual(moreLoops, []);
    assert.deepEqual(mountsUnder(root).sort(), [dirA, dirB, globalDir].sort());
    // one filesystem seen three ways: what pod A writes, pod B and the device mount see
    await fs.writeFile(path.join(dirA, 'hello.txt'), 'from pod a');
    assert.equal(await fs.readFile(path.join(dirB, 'hello.txt'), 'utf8'), 'from pod a');
    assert.equal(await fs.readFile(path.join(globalDir, 'hello.txt'), 'utf8'), 'from pod a');
    assert.ok((await fs.readdir(globalDir)).includes('lost+found'), 'mountdevice made an ext4 filesystem');

    // the first pod goes: its mount goes, the device stays for the other
    reconciler.removePod(podA);
    await reconciler.whenIdle();
    assert.deepEqual(mountsUnder(root).sort(), [dirB, globalDir].sort());
    await assert.rejects(fs.access(dirA));
    assert.deepEqual(loopsUnder(root), [loop]);

    // the last pod goes: unmount, unmountdevice, detach
    reconciler.removePod(podB);
    await reconciler.whenIdle();
    assert.deepEqual(reconciler.pendingPods(), []);
    assert.deepEqual(mountsUnder(root), []);
    assert.deepEqual(loopsUnder(root), []);
    await assert.rejects(fs.access(globalDir));
    assert.deepEqual(await fs.readdir(path.join(root, 'driver-state')), [], 'detach removed its record');

    // the data outlives the attachment: attach again and read it back
    const podC = pod('uid-c');
    reconciler.ensurePod(podC, [spec]);
    await reconciler.whenIdle();
    const dirC = paths.podVolumePath('uid-c', 'berth/loop', 'data');
    assert.equal(await fs.readFile(path.join(dirC, 'hello.txt'), 'utf8'), 'from pod a');
    reconciler.removePod(podC);
    await reconciler.whenIdle();
    assert.deepEqual(mountsUnder(root), []);
    assert.deepEqual(loopsUnder(root), []);

    await recorder!.flush();
    const events = (await store!.list<Event>(K.event)).items;
    assert.deepEqual(
      events.filter((e) => e.type === 'Warning').map((e) => e.message),
      [],
    );
    assert.ok(events.some((e) => e.reason === 'SuccessfulMountVolume' && e.involvedObject.uid === 'uid-a'));
  });

  const inlinePod = (uid: string, driver: string, file: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p-${uid}`, namespace: 'default', uid },
    spec: {
      containers: [{ name: 'c' }],
      volumes: [{ name: 'data', flexVolume: { driver, fsType: 'ext4', options: { file, size: '16Mi' } } }],
    },
  });

  const KUBELET_SEQUENCE = [
    'init',
    'getvolumename',
    'attach',
    'waitforattach',
    'mountdevice',
    'mount',
    'unmount',
    'unmountdevice',
    'detach',
  ];

  /** One pod through a logged berth/loop; returns the driver's calls and what was mounted meanwhile. */
  async function onePodThroughLoggedDriver(unsupported: string[]) {
    const paths = new FlexPaths(path.join(root, 'node'));
    const logged = await installLoggedDriver(paths.pluginDir(), 'berth/logged', sampleDriver, unsupported);
    const reconciler = await startNode(paths);
    const pod = inlinePod('uid-1', 'berth/logged', path.join(root, 'disks', 'one.img'));
    reconciler.ensurePod(pod, [flexSpecFromPodVolume(pod.spec.volumes![0]!, pod)!]);
    await reconciler.whenIdle();
    assert.equal(reconciler.podStatus('uid-1')?.ready, true, reconciler.podStatus('uid-1')?.lastError);
    const globalDir = paths.deviceMountPath('berth/logged', 'uid-1-data');
    const podDir = paths.podVolumePath('uid-1', 'berth/logged', 'uid-1-data');
    assert.deepEqual(mountsUnder(root).sort(), [podDir, globalDir].sort());
    assert.equal(loopsUnder(root).length, 1);
    reconciler.removePod(pod);
    await reconciler.whenIdle();
    assert.deepEqual(reconciler.pendingPods(), []);
    assert.deepEqual(mountsUnder(root), [], 'pod and device mounts are gone');
    assert.deepEqual(loopsUnder(root), [], 'detach released the loop device');
    await assert.rejects(fs.access(globalDir));
    return (await logged.calls()).map((c) => c.command);
  }

  it("kubelet's whole call sequence: unmountdevice after the last unmount, before detach", async () => {
    assert.deepEqual(await onePodThroughLoggedDriver([]), KUBELET_SEQUENCE);
  });

  it('unmountdevice "Not supported": berth unmounts the device mount path itself, then detaches', async () => {
    const commands = await onePodThroughLoggedDriver(['unmountdevice']);
    // the driver was asked and said no; the device mount still went (asserted inside) before detach
    assert.deepEqual(commands, KUBELET_SEQUENCE);
  });
});
