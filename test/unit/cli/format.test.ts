import assert from 'node:assert/strict';
import { kindFor } from '../../../src/api/kinds.js';
import type { Table } from '../../../src/client/table.js';
import { visibleColumns } from '../../../src/client/table.js';
import { parseDuration } from '../../../src/cli/duration-flag.js';
import { humanDuration } from '../../../src/api/age.js';
import { objectName, pluralName } from '../../../src/cli/format/output.js';
import { renderLines, tableLines } from '../../../src/cli/format/table.js';
import { alignTabs } from '../../../src/cli/format/tabwriter.js';
import { UsageError } from '../../../src/cli/io.js';
import { kubeconfigFiles, resolveDataDir } from '../../../src/cli/paths.js';

const table: Table = {
  apiVersion: 'meta.k8s.io/v1',
  kind: 'Table',
  columnDefinitions: [
    { name: 'Name', type: 'string' },
    { name: 'Status', type: 'string' },
    { name: 'Volume', type: 'string' },
    { name: 'VolumeMode', type: 'string', priority: 1 },
    { name: 'Age', type: 'string' },
  ],
  rows: [
    {
      cells: ['claim1', 'Bound', 'pv-small', 'Filesystem', '5s'],
      object: { metadata: { name: 'claim1', namespace: 'default' } },
    },
    { cells: ['c2', 'Pending', '', null, '10m'], object: { metadata: { name: 'c2', namespace: 'other' } } },
  ],
};

describe('cli table output', () => {
  it('pads columns with 3 spaces, upper-cases headers and hides wide columns', () => {
    const { header, rows } = tableLines(visibleColumns(table, false));
    assert.equal(
      renderLines([header, ...rows]),
      [
        'NAME     STATUS    VOLUME     AGE',
        'claim1   Bound     pv-small   5s',
        'c2       Pending              10m',
        '',
      ].join('\n'),
    );
  });

  it('shows wide columns, kind prefixes and a namespace column on request', () => {
    const { header, rows } = tableLines(visibleColumns(table, true), {
      namePrefix: 'persistentvolumeclaim/',
      withNamespace: true,
    });
    assert.deepEqual(header, ['NAMESPACE', 'NAME', 'STATUS', 'VOLUME', 'VOLUMEMODE', 'AGE']);
    assert.deepEqual(rows[1], ['other', 'persistentvolumeclaim/c2', 'Pending', '', '<none>', '10m']);
  });

  it('names objects like kubectl', () => {
    const sc = kindFor('storage.k8s.io/v1', 'StorageClass')!;
    const pvc = kindFor('v1', 'PersistentVolumeClaim')!;
    assert.equal(objectName(sc, 'fast'), 'storageclass.storage.k8s.io/fast');
    assert.equal(objectName(pvc, 'c'), 'persistentvolumeclaim/c');
    assert.equal(pluralName(pvc, 'c'), 'persistentvolumeclaims/c');
  });
});

describe('cli tab alignment', () => {
  it('aligns each run of lines that share a column', () => {
    const text =
      'Name:\tpv1\nStorageClass:\tmanual\nSource:\n    Type:\tCSI\n    VolumeHandle:\th\nEvents:\t<none>\n';
    assert.equal(
      alignTabs(text),
      [
        'Name:          pv1',
        'StorageClass:  manual',
        'Source:',
        '    Type:          CSI',
        '    VolumeHandle:  h',
        'Events:            <none>',
        '',
      ].join('\n'),
    );
  });
});

describe('cli durations', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [59_000, '59s'],
    [119_000, '119s'],
    [150_000, '2m30s'],
    [15 * 60_000, '15m'],
    [4 * 3600_000 + 5 * 60_000, '4h5m'],
    [30 * 3600_000, '30h'],
    [3 * 86400_000 + 2 * 3600_000, '3d2h'],
    [100 * 86400_000, '100d'],
  ];
  for (const [ms, text] of cases)
    it(`prints ${ms}ms as ${text}`, () => assert.equal(humanDuration(ms), text));

  it('parses flag durations', () => {
    assert.equal(parseDuration('--timeout', '30s'), 30_000);
    assert.equal(parseDuration('--timeout', '1m30s'), 90_000);
    assert.equal(parseDuration('--timeout', '250ms'), 250);
    assert.equal(parseDuration('--timeout', '2'), 2000);
    assert.throws(
      () => parseDuration('--timeout', 'soon'),
      (err: Error) => err instanceof UsageError && err.message.includes('--timeout'),
    );
  });
});

describe('cli paths', () => {
  it('prefers the flag, then $BERTH_DATA_DIR, then ~/.berth', () => {
    assert.equal(resolveDataDir('/d', { BERTH_DATA_DIR: '/e' }, '/home/u'), '/d');
    assert.equal(resolveDataDir(undefined, { BERTH_DATA_DIR: '/e' }, '/home/u'), '/e');
    assert.equal(resolveDataDir(undefined, {}, '/home/u'), '/home/u/.berth');
  });

  it('reads --kubeconfig, else $KUBECONFIG (every file, once), else the data directory', () => {
    assert.deepEqual(kubeconfigFiles(undefined, {}, '/home/u'), {
      paths: ['/home/u/.berth/kubeconfig'],
      skipMissing: false,
    });
    assert.deepEqual(kubeconfigFiles('/k', { KUBECONFIG: '/a' }, '/home/u'), {
      paths: ['/k'],
      skipMissing: false,
    });
    assert.deepEqual(kubeconfigFiles(undefined, { KUBECONFIG: '/a::/b:/a', BERTH_DATA_DIR: '/d' }, '/h'), {
      paths: ['/a', '/b'],
      skipMissing: true,
    });
    assert.deepEqual(kubeconfigFiles(undefined, { KUBECONFIG: '', BERTH_DATA_DIR: '/d' }, '/h').paths, [
      '/d/kubeconfig',
    ]);
  });
});
