import assert from 'node:assert/strict';
import type { PersistentVolume } from '../../../src/api/types.js';
import { resolveDiscoveryClass } from '../../../src/node/discovery/config.js';
import {
  decideDiscovery,
  discoveredVolume,
  discoveredVolumeName,
  type DiscoveredDisk,
  roundDownCapacity,
} from '../../../src/node/discovery/decide.js';

const NODE = 'node-1';
const fast = resolveDiscoveryClass({ className: 'fast', hostDir: '/mnt/disks' });
const keep = resolveDiscoveryClass({ className: 'keep', hostDir: '/mnt/keep', reclaimPolicy: 'Retain' });
const classes = [fast, keep];

const disk = (p: string, className = 'fast', capacityBytes = 64 * 1024 * 1024): DiscoveredDisk => ({
  className,
  path: p,
  capacityBytes,
  volumeMode: 'Filesystem',
});

function pv(d: DiscoveredDisk, phase: 'Available' | 'Bound' | 'Released', node = NODE): PersistentVolume {
  const cls = d.className === 'fast' ? fast : keep;
  const v = discoveredVolume(d, cls, node);
  v.metadata.uid = `uid-${v.metadata.name ?? ''}`;
  v.status = { phase };
  return v;
}

function plan(disks: DiscoveredDisk[], volumes: PersistentVolume[], cleaning: string[] = []): string[] {
  return decideDiscovery({ nodeName: NODE, classes, disks, volumes, cleaning: new Set(cleaning) }).map((a) =>
    a.kind === 'Create' ? `Create ${a.volume.metadata.name ?? ''}` : `Reclaim ${a.pvName} ${a.path}`,
  );
}

describe('local disk discovery decisions', function () {
  const d1 = disk('/mnt/disks/vol1');
  const d2 = disk('/mnt/disks/vol2');
  const k1 = disk('/mnt/keep/a', 'keep');
  const n1 = discoveredVolumeName(d1.path, NODE, 'fast');
  const n2 = discoveredVolumeName(d2.path, NODE, 'fast');

  it('names PVs stably from path, node and class', function () {
    assert.match(n1, /^local-pv-[0-9a-f]{8}$/);
    assert.equal(n1, discoveredVolumeName('/mnt/disks/vol1', NODE, 'fast'));
    assert.notEqual(n1, discoveredVolumeName('/mnt/disks/vol1', 'node-2', 'fast'));
    assert.notEqual(n1, discoveredVolumeName('/mnt/disks/vol1', NODE, 'other'));
  });

  it('builds a local PV pinned to the node, with class, policy and provisioner', function () {
    const v = discoveredVolume(d1, fast, NODE);
    assert.equal(v.spec.local?.path, '/mnt/disks/vol1');
    assert.equal(v.spec.storageClassName, 'fast');
    assert.equal(v.spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.equal(v.spec.volumeMode, 'Filesystem');
    assert.deepEqual(v.spec.accessModes, ['ReadWriteOnce']);
    assert.equal(v.spec.capacity?.storage, '64Mi');
    assert.equal(
      v.metadata.annotations?.['pv.kubernetes.io/provisioned-by'],
      'local-volume-provisioner-node-1',
    );
    assert.deepEqual(v.spec.nodeAffinity?.required?.nodeSelectorTerms, [
      { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] },
    ]);
  });

  it('rounds capacity down, never up', function () {
    assert.equal(roundDownCapacity(20 * 1024 ** 3 + 5), '20Gi');
    assert.equal(roundDownCapacity(10 * 1024 ** 3 - 1), '10239Mi');
    assert.equal(roundDownCapacity(27 * 1024 ** 2 + 1023), '27Mi');
    assert.equal(roundDownCapacity(1024220 * 1024), '1000Mi');
    assert.equal(roundDownCapacity(5 * 1024 * 1024), '5120Ki');
  });

  const cases: {
    name: string;
    disks: DiscoveredDisk[];
    volumes: () => PersistentVolume[];
    cleaning?: string[];
    want: () => string[];
  }[] = [
    { name: 'nothing found, nothing to do', disks: [], volumes: () => [], want: () => [] },
    {
      name: 'new disks get PVs',
      disks: [d1, d2],
      volumes: () => [],
      want: () => [`Create ${n1}`, `Create ${n2}`],
    },
    {
      name: 'existing PVs are left alone, in any phase',
      disks: [d1, d2],
      volumes: () => [pv(d1, 'Available'), pv(d2, 'Bound')],
      want: () => [],
    },
    {
      name: 'released Delete volume is reclaimed; its disk waits',
      disks: [d1],
      volumes: () => [pv(d1, 'Released')],
      want: () => [`Reclaim ${n1} /mnt/disks/vol1`],
    },
    {
      name: 'released Retain volume stays for the admin',
      disks: [k1],
      volumes: () => [pv(k1, 'Released')],
      want: () => [],
    },
    {
      name: 'a disk being scrubbed is neither reclaimed twice nor recreated',
      disks: [d1],
      volumes: () => [pv(d1, 'Released')],
      cleaning: [n1],
      want: () => [],
    },
    {
      name: 'after the PV is deleted the next scan offers the disk again',
      disks: [d1],
      volumes: () => [],
      want: () => [`Create ${n1}`],
    },
    {
      name: "another node's released PVs are not ours",
      disks: [],
      volumes: () => [pv(d1, 'Released', 'node-2')],
      want: () => [],
    },
    {
      name: 'a released PV whose path is outside the class dir is never scrubbed',
      disks: [],
      volumes: () => {
        const v = pv(d1, 'Released');
        if (v.spec.local) v.spec.local.path = '/etc';
        return [v];
      },
      want: () => [],
    },
    {
      name: 'disks of unknown classes are ignored',
      disks: [disk('/mnt/other/x', 'nope')],
      volumes: () => [],
      want: () => [],
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      assert.deepEqual(plan(c.disks, c.volumes(), c.cleaning), c.want());
    });
  }
});
