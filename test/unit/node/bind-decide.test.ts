import assert from 'node:assert/strict';
import { decideBinds, type FoundBind } from '../../../src/node/bind-decide.js';
import type { DesiredBind } from '../../../src/node/desired-state.js';
import { NodePaths } from '../../../src/node/paths.js';

const paths = new NodePaths('/var/lib/berth');

function bind(specName: string, extra: Partial<DesiredBind> = {}): DesiredBind {
  return {
    podUID: 'p1',
    uniqueName: `kubernetes.io~local-volume/${specName}`,
    plugin: 'kubernetes.io~local-volume',
    specName,
    source: `/mnt/disks/${specName}`,
    block: false,
    readOnly: false,
    ...extra,
  };
}

const target = (name: string, area = 'volumes', plugin = 'kubernetes.io~local-volume') =>
  `/var/lib/berth/pods/p1/${area}/${plugin}/${name}`;

describe('node bind decisions', function () {
  const cases: {
    name: string;
    desired: DesiredBind[];
    found: FoundBind[];
    want: string[];
  }[] = [
    { name: 'nothing wanted, nothing there', desired: [], found: [], want: [] },
    {
      name: 'wanted and missing: mount',
      desired: [bind('pv1')],
      found: [],
      want: [`Mount ${target('pv1')}`],
    },
    {
      name: 'wanted and mounted: nothing',
      desired: [bind('pv1')],
      found: [{ podUID: 'p1', targetPath: target('pv1'), mounted: true }],
      want: [],
    },
    {
      name: 'wanted, dir left unmounted (crash between mkdir and mount): mount again',
      desired: [bind('pv1')],
      found: [{ podUID: 'p1', targetPath: target('pv1'), mounted: false }],
      want: [`Mount ${target('pv1')}`],
    },
    {
      name: 'no longer wanted: tear down, mounted or not',
      desired: [],
      found: [
        { podUID: 'p1', targetPath: target('pv1'), mounted: true },
        { podUID: 'p1', targetPath: target('pv2'), mounted: false },
      ],
      want: [`Teardown ${target('pv1')}`, `Teardown ${target('pv2')}`],
    },
    {
      name: 'block volumes live under volumeDevices, hostPath under its own plugin dir',
      desired: [
        bind('blk', { block: true }),
        bind('hp', { plugin: 'kubernetes.io~host-path', uniqueName: 'kubernetes.io~host-path/hp' }),
      ],
      found: [],
      want: [
        `Mount ${target('blk', 'volumeDevices')}`,
        `Mount ${target('hp', 'volumes', 'kubernetes.io~host-path')}`,
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      const got = decideBinds(paths, c.desired, c.found).map((a) => `${a.kind} ${a.targetPath}`);
      assert.deepEqual(got, c.want);
    });
  }
});
