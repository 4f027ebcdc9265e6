// The seed's FlexVolume PV (M44: pv-flex-nfs, driver "k8s/nfs", options server/share) bound to a
// claim and used by a pod: the sample k8s/nfs driver gets kubelet's JSON and mounts the export at
// the pod's volume directory, and unmounts it when the pod goes.
// STAND-IN: this kernel has no NFS client, so the driver's "mount-helper" here is a stand-in that
// bind-mounts a local directory standing in for the export 10.10.0.25:/export. Everything else
// (driver discovery, call-outs, the driver script, the mount itself) is real.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PersistentVolumeClaim, Pod } from '../../src/api/types.js';
import { FlexDriverProber } from '../../src/flexvolume/discovery.js';
import { FlexVolumeHost } from '../../src/flexvolume/host.js';
import { FlexPaths } from '../../src/volume/flex-names.js';
import { FlexVolumeReconciler } from '../../src/flexvolume/reconciler.js';
import { flexVolumesOfPod } from '../../src/volume/flex-spec.js';
import { systemExec } from '../../src/host/exec.js';
import { SystemMounter } from '../../src/host/mounter.js';
import { mountsUnder, realDiskUnavailable, sweepHost } from '../conformance/host.js';
import { skipUnless } from '../helpers/skip.js';
import { seedFlexVolume, tempDir, writeNfsStandinHelper } from '../unit/flexvolume/helpers.js';

const sampleDriver = path.join(import.meta.dirname, '..', '..', 'examples', 'flexvolume', 'k8s~nfs', 'nfs');
const unavailable = realDiskUnavailable(['mountpoint', 'node']);

describe('flexvolume: the seed NFS FlexVolume PV (M44) with the k8s/nfs sample driver', function () {
  let root: string;
  let prober: FlexDriverProber | undefined;
  let reconciler: FlexVolumeReconciler | undefined;

  before(function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
  });
  beforeEach(async () => {
    root = await tempDir('berth-flex-nfs-');
  });
  afterEach(async () => {
    await reconciler?.stop();
    await prober?.stop();
    const leftovers = sweepHost(root);
    await fs.rm(root, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'the test left mounts behind');
  });

  it('reaches the driver with the right JSON and mounts the export (through the stand-in helper)', async () => {
    const paths = new FlexPaths(path.join(root, 'node'));
    const driverDir = path.join(paths.pluginDir(), 'k8s~nfs');
    await fs.mkdir(driverDir, { recursive: true });
    // the real sample driver, behind a wrapper that records each call's argv for the test
    await fs.copyFile(sampleDriver, path.join(driverDir, 'nfs.real'));
    await fs.chmod(path.join(driverDir, 'nfs.real'), 0o755);
    const callLog = path.join(root, 'driver-calls.log');
    await fs.writeFile(
      path.join(driverDir, 'nfs'),
      `#!/bin/sh\nnode -e 'require("fs").appendFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)) + "\\n")' -- ${JSON.stringify(callLog)} "$@"\nexec "$(dirname "$0")/nfs.real" "$@"\n`,
      { mode: 0o755 },
    );
    // the NFS stand-in: "export" of 10.10.0.25 is a local directory, bind-mounted
    const exportDir = path.join(root, 'nfs-server', 'export');
    await fs.mkdir(exportDir, { recursive: true });
    await fs.writeFile(path.join(exportDir, 'index.html'), 'served over (stand-in) NFS');
    const helperLog = path.join(root, 'mount-helper.log');
    await writeNfsStandinHelper(path.join(driverDir, 'mount-helper'), exportDir, helperLog);

    const exec = systemExec({ timeoutMs: 30_000 });
    prober = new FlexDriverProber({ pluginDir: paths.pluginDir(), exec, pollMs: 0 });
    await prober.start();
    assert.equal(prober.get('k8s/nfs')?.capabilities.attach, false);
    const host = new FlexVolumeHost({
      drivers: prober,
      exec,
      mounter: new SystemMounter({ exec }),
      timeoutMs: 30_000,
    });
    reconciler = new FlexVolumeReconciler({ host, paths, nodeName: 'node-a' });
    reconciler.start();

    const pv = seedFlexVolume();
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'web-data', namespace: 'default' },
      spec: { accessModes: ['ReadWriteMany'], volumeName: 'pv-flex-nfs' },
    };
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default', uid: 'pod-uid-nfs' },
      spec: {
        containers: [{ name: 'nginx', volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }] }],
        volumes: [{ name: 'www', persistentVolumeClaim: { claimName: 'web-data' } }],
      },
    };
    const { specs } = flexVolumesOfPod(pod, { claim: () => claim, volume: () => pv });
    reconciler.ensurePod(pod, specs);
    await reconciler.whenIdle();
    assert.equal(
      reconciler.podStatus('pod-uid-nfs')?.ready,
      true,
      reconciler.podStatus('pod-uid-nfs')?.lastError,
    );

    const podDir = paths.podVolumePath('pod-uid-nfs', 'k8s/nfs', 'pv-flex-nfs');
    assert.ok(podDir.endsWith('/pods/pod-uid-nfs/volumes/k8s~nfs/pv-flex-nfs'));
    assert.deepEqual(mountsUnder(root), [podDir]);
    assert.equal(await fs.readFile(path.join(podDir, 'index.html'), 'utf8'), 'served over (stand-in) NFS');

    const calls = (await fs.readFile(callLog, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
    const mount = calls.find((argv) => argv[0] === 'mount');
    assert.ok(mount, 'the driver was asked to mount');
    assert.equal(mount[1], podDir);
    assert.deepEqual(JSON.parse(mount[2]!), {
      'kubernetes.io/fsType': 'nfs',
      'kubernetes.io/readwrite': 'rw',
      'kubernetes.io/pvOrVolumeName': 'pv-flex-nfs',
      'kubernetes.io/pod.name': 'web',
      'kubernetes.io/pod.namespace': 'default',
      'kubernetes.io/pod.uid': 'pod-uid-nfs',
      'kubernetes.io/serviceAccount.name': 'default',
      server: '10.10.0.25',
      share: 'export',
    });
    // a non-attachable driver is never asked to attach or mount a device
    assert.deepEqual(
      calls.map((argv) => argv[0]),
      ['init', 'getvolumename', 'mount'],
    );
    assert.equal((await fs.readFile(helperLog, 'utf8')).trim(), `-t nfs -o rw 10.10.0.25:/export ${podDir}`);

    reconciler.removePod(pod);
    await reconciler.whenIdle();
    assert.deepEqual(mountsUnder(root), []);
    await assert.rejects(fs.access(podDir));
    assert.equal(await fs.readFile(path.join(exportDir, 'index.html'), 'utf8'), 'served over (stand-in) NFS');
    const last = (await fs.readFile(callLog, 'utf8')).trim().split('\n').at(-1);
    assert.deepEqual(JSON.parse(last!), ['unmount', podDir]);
  });
});
