import assert from 'node:assert/strict';
import { isStatusError } from '../../../src/api/errors.js';
import { kindNamed } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { comparePaths, maxTrackedDepth, pathsSetBy, removePath } from '../../../src/apiserver/field-paths.js';
import {
  difference,
  formatPath,
  fromPaths,
  intersection,
  memberPaths,
  toFieldSet,
  union,
  type FieldSet,
} from '../../../src/apiserver/field-set.js';
import {
  applyManagedFields,
  checkOwnershipOptions,
  decodeManagedFields,
  managedFieldsTime,
  updateManagedFields,
  updateManagerName,
  type ManagedFieldsEntry,
} from '../../../src/apiserver/managed-fields.js';

const pvcKind = kindNamed('PersistentVolumeClaim');
const podKind = kindNamed('Pod');

function claim(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'c', namespace: 'ns', ...metadata },
    spec,
  };
}

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';

function entry(
  manager: string,
  operation: 'Apply' | 'Update',
  fieldsV1: FieldSet,
  time = T0,
): ManagedFieldsEntry {
  return { manager, operation, apiVersion: 'v1', time, fieldsType: 'FieldsV1', fieldsV1 };
}

function owned(entries: ManagedFieldsEntry[], manager: string): string[] {
  const e = entries.find((x) => x.manager === manager);
  return e ? memberPaths(e.fieldsV1).map(formatPath) : [];
}

describe('field sets (FieldsV1)', () => {
  const a = fromPaths([
    ['f:spec', 'f:x'],
    ['f:spec', 'f:y'],
  ]);
  const b = fromPaths([
    ['f:spec', 'f:y'],
    ['f:spec', 'f:z'],
  ]);
  const cases: { name: string; got: () => FieldSet; want: FieldSet }[] = [
    { name: 'union', got: () => union(a, b), want: { 'f:spec': { 'f:x': {}, 'f:y': {}, 'f:z': {} } } },
    { name: 'difference', got: () => difference(a, b), want: { 'f:spec': { 'f:x': {} } } },
    { name: 'intersection', got: () => intersection(a, b), want: { 'f:spec': { 'f:y': {} } } },
    {
      name: 'a member with children carries "."',
      got: () =>
        fromPaths([
          ['f:spec', 'k:{"name":"c"}'],
          ['f:spec', 'k:{"name":"c"}', 'f:image'],
        ]),
      want: { 'f:spec': { 'k:{"name":"c"}': { '.': {}, 'f:image': {} } } },
    },
    {
      name: 'difference removes only the exact member, keeping its children',
      got: () => difference({ 'f:labels': { '.': {}, 'f:a': {} } }, fromPaths([['f:labels']])),
      want: { 'f:labels': { 'f:a': {} } },
    },
    { name: 'difference to nothing', got: () => difference(a, a), want: {} },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(c.got(), c.want));

  it('formats paths as upstream prints them', () => {
    assert.equal(formatPath(['f:spec', 'f:volumeName']), '.spec.volumeName');
    assert.equal(
      formatPath(['f:spec', 'f:containers', 'k:{"name":"c"}', 'f:image']),
      '.spec.containers[name="c"].image',
    );
    assert.equal(formatPath(['f:metadata', 'f:finalizers', 'v:"x"']), '.metadata.finalizers[="x"]');
    assert.equal(formatPath(['f:list', 'i:0']), '.list[0]');
  });

  it('reads stored sets and refuses malformed ones', () => {
    assert.deepEqual(toFieldSet({ 'f:a': { '.': {}, 'f:b': {} } }), { 'f:a': { '.': {}, 'f:b': {} } });
    assert.equal(toFieldSet({ bogus: {} }), undefined);
    assert.equal(toFieldSet({ 'f:a': 'x' }), undefined);
    assert.equal(toFieldSet([]), undefined);
    let deep: unknown = {};
    for (let i = 0; i < 1000; i++) deep = { 'f:a': deep };
    assert.equal(toFieldSet(deep), undefined);
  });
});

describe('field paths of objects', () => {
  it('an applied configuration owns its leaves and its keyed list items', () => {
    const pod = {
      spec: {
        containers: [{ name: 'c', image: 'i' }],
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'x' } }],
        nodeSelector: { zone: 'a' },
      },
      metadata: { finalizers: ['f1'], labels: {} },
    };
    const paths = pathsSetBy(pod, undefined).map(formatPath);
    assert.deepEqual(paths.sort(), [
      '.metadata.finalizers[="f1"]',
      '.metadata.labels',
      '.spec.containers[name="c"]',
      '.spec.containers[name="c"].image',
      '.spec.containers[name="c"].name',
      '.spec.nodeSelector.zone',
      '.spec.volumes[name="v"]',
      '.spec.volumes[name="v"].name',
      '.spec.volumes[name="v"].persistentVolumeClaim.claimName',
    ]);
  });

  it('lists without usable keys are atomic', () => {
    const dup = { spec: { containers: [{ name: 'c' }, { name: 'c' }], accessModes: ['ReadWriteOnce'] } };
    assert.deepEqual(pathsSetBy(dup, undefined).map(formatPath).sort(), [
      '.spec.accessModes',
      '.spec.containers',
    ]);
  });

  const compareCases: { name: string; before: unknown; after: unknown; want: Record<string, string[]> }[] = [
    {
      name: 'a changed scalar is modified',
      before: { spec: { volumeName: 'a' } },
      after: { spec: { volumeName: 'b' } },
      want: { added: [], modified: ['.spec.volumeName'], removed: [] },
    },
    {
      name: 'a new map is added with its entries, an always-present struct is not',
      before: {},
      after: { spec: { selector: { matchLabels: { a: 'b' } } } },
      want: {
        added: ['.spec.selector', '.spec.selector.matchLabels', '.spec.selector.matchLabels.a'],
        modified: [],
        removed: [],
      },
    },
    {
      name: 'a removed keyed item is removed with its fields',
      before: { spec: { containers: [{ name: 'a' }, { name: 'b', image: 'x' }] } },
      after: { spec: { containers: [{ name: 'a' }] } },
      want: {
        added: [],
        modified: [],
        removed: [
          '.spec.containers[name="b"]',
          '.spec.containers[name="b"].name',
          '.spec.containers[name="b"].image',
        ],
      },
    },
    {
      name: 'an atomic list that changes is modified as a whole',
      before: { spec: { accessModes: ['ReadWriteOnce'] } },
      after: { spec: { accessModes: ['ReadWriteMany'] } },
      want: { added: [], modified: ['.spec.accessModes'], removed: [] },
    },
    {
      name: 'equal objects differ nowhere',
      before: { spec: { a: { b: [1, 2] } } },
      after: { spec: { a: { b: [1, 2] } } },
      want: { added: [], modified: [], removed: [] },
    },
  ];
  for (const c of compareCases) {
    it(c.name, () => {
      const got = comparePaths(c.before, c.after, undefined);
      assert.deepEqual(
        {
          added: got.added.map(formatPath),
          modified: got.modified.map(formatPath),
          removed: got.removed.map(formatPath),
        },
        c.want,
      );
    });
  }

  it('owns values nested deeper than the tracked depth as a whole, without deep recursion', () => {
    let deep: unknown = { leaf: 1 };
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    const paths = pathsSetBy({ spec: deep }, undefined);
    assert.equal(paths.length, 1);
    assert.equal(paths[0]?.length, maxTrackedDepth);
    const changed = comparePaths({ spec: deep }, { spec: { a: 1 } }, undefined);
    assert.deepEqual(
      changed.modified.map((p) => p.length),
      [2],
    );
  });

  it('removes a path and the containers it leaves empty', () => {
    const obj = { metadata: { labels: { a: '1' } }, spec: { containers: [{ name: 'a', image: 'x' }] } };
    assert.equal(removePath(obj, ['f:metadata', 'f:labels', 'f:a']), true);
    assert.deepEqual(obj.metadata, {});
    assert.equal(removePath(obj, ['f:spec', 'f:containers', 'k:{"name":"b"}']), false);
    assert.equal(removePath(obj, ['f:spec', 'f:containers', 'k:{"name":"a"}']), true);
    assert.deepEqual(obj, { metadata: {}, spec: {} });
    assert.equal(removePath(obj, ['f:nothing', 'f:here']), false);
    assert.equal(removePath(obj, ['f:spec', 'f:containers', 'k:not json']), false);
  });
});

describe('managedFields', () => {
  it('a create makes the creator own what it set, without server-owned metadata', () => {
    const created = claim(
      { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      { labels: { app: 'one' }, uid: 'u', resourceVersion: '1', creationTimestamp: T0 },
    );
    const entries = updateManagedFields(pvcKind, undefined, created, { manager: 'kubectl-create', time: T0 });
    assert.deepEqual(entries, [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': { 'f:accessModes': {}, 'f:resources': { 'f:requests': { '.': {}, 'f:storage': {} } } },
        },
      },
    ]);
  });

  it('a create owns exactly what an update from an empty object of the kind would own, keys in the same order', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'ns',
        uid: 'u',
        generation: 1,
        resourceVersion: '5',
        managedFields: [entry('earlier', 'Update', fromPaths([['f:metadata', 'f:labels', 'f:a']]))],
        labels: { a: '1', b: '' },
        annotations: { note: 'x' },
        finalizers: ['one', 'two'],
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n', uid: 'n1' }],
      },
      spec: {
        containers: [
          { name: 'c', image: 'i', ports: [{ containerPort: 80, protocol: 'TCP' }], args: ['a', 'b'] },
          { name: 'd', image: 'j', volumeMounts: [{ name: 'v', mountPath: '/m' }] },
        ],
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }],
        nodeSelector: {},
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
      status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] },
    } as KubeObject;
    const nested: Record<string, unknown> = {};
    let at = nested;
    for (let i = 0; i < maxTrackedDepth + 3; i++) at = at[`k${i}`] = {};
    const objects: Array<[typeof podKind, KubeObject]> = [
      [podKind, pod],
      [pvcKind, claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } })],
      [pvcKind, claim({}, { name: 'only-name' })],
      [
        kindNamed('ConfigMap'),
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm' }, data: nested },
      ],
    ];
    for (const [kind, obj] of objects) {
      for (const subresource of [undefined, 'status']) {
        const writer = { manager: 'm', time: T0, ...(subresource ? { subresource } : {}) };
        const empty = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: {} } as KubeObject;
        const created = updateManagedFields(kind, undefined, obj, writer);
        assert.equal(JSON.stringify(created), JSON.stringify(updateManagedFields(kind, empty, obj, writer)));
      }
    }
    assert.ok(
      JSON.stringify(updateManagedFields(podKind, undefined, pod, { manager: 'm', time: T0 })).includes('k:'),
    );
  });

  it('an update takes the changed fields from other managers and keeps the time when nothing changed', () => {
    const old = {
      ...claim({ volumeName: 'a', storageClassName: 'x' }),
      metadata: {
        name: 'c',
        managedFields: [
          entry(
            'creator',
            'Update',
            fromPaths([
              ['f:spec', 'f:volumeName'],
              ['f:spec', 'f:storageClassName'],
            ]),
          ),
        ],
      },
    } as KubeObject;
    const next = { ...old, spec: { volumeName: 'b', storageClassName: 'x' } } as KubeObject;
    const entries = updateManagedFields(pvcKind, old, next, { manager: 'binder', time: T1 });
    assert.deepEqual(owned(entries, 'creator'), ['.spec.storageClassName']);
    assert.deepEqual(owned(entries, 'binder'), ['.spec.volumeName']);
    assert.equal(entries.find((e) => e.manager === 'binder')?.time, T1);
    const same = updateManagedFields(pvcKind, old, structuredClone(old), { manager: 'creator', time: T1 });
    assert.deepEqual(same, old.metadata['managedFields']);
  });

  it('an update that omits managedFields (a controller caching objects without them) keeps the stored ones', () => {
    const old = {
      ...claim({ volumeName: 'a', storageClassName: 'x' }),
      metadata: {
        name: 'c',
        managedFields: [entry('creator', 'Update', fromPaths([['f:spec', 'f:storageClassName']]))],
      },
    } as KubeObject;
    const { managedFields: _omitted, ...metadata } = old.metadata;
    const next = { ...old, metadata, spec: { volumeName: 'b', storageClassName: 'x' } } as KubeObject;
    const entries = updateManagedFields(pvcKind, old, next, { manager: 'binder', time: T1 });
    assert.deepEqual(owned(entries, 'creator'), ['.spec.storageClassName']);
    assert.deepEqual(owned(entries, 'binder'), ['.spec.volumeName']);
  });

  it('status writes are owned through the status subresource only', () => {
    const podOld = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { nodeName: '' },
      status: {},
    } as KubeObject;
    const podNew = { ...podOld, status: { phase: 'Running' } } as KubeObject;
    const entries = updateManagedFields(podKind, podOld, podNew, {
      manager: 'kubelet',
      subresource: 'status',
      time: T0,
    });
    assert.deepEqual(entries[0]?.subresource, 'status');
    assert.deepEqual(owned(entries, 'kubelet'), ['.status.phase']);
    assert.deepEqual(updateManagedFields(podKind, podOld, podNew, { manager: 'user', time: T0 }), []);
  });

  describe('server-side apply', () => {
    const live = (): KubeObject => ({
      ...claim({ volumeName: 'pv1', storageClassName: 'gold' }, { labels: { a: '1', b: '2' } }),
      metadata: {
        name: 'c',
        labels: { a: '1', b: '2' },
        managedFields: [
          entry(
            'applier',
            'Apply',
            fromPaths([
              ['f:metadata', 'f:labels', 'f:a'],
              ['f:metadata', 'f:labels', 'f:b'],
              ['f:spec', 'f:storageClassName'],
            ]),
          ),
          entry('binder', 'Update', fromPaths([['f:spec', 'f:volumeName']])),
        ],
      },
    });
    const merge = (base: KubeObject, config: KubeObject): KubeObject => ({
      ...base,
      metadata: { ...base.metadata, labels: { ...base.metadata.labels, ...config.metadata.labels } },
      spec: { ...(base['spec'] as object), ...(config['spec'] as object) },
    });

    it('changing a field another manager owns is a 409 naming manager and field', () => {
      const config = claim({ volumeName: 'pv2', storageClassName: 'gold' }, { labels: { a: '1', b: '2' } });
      assert.throws(
        () =>
          applyManagedFields(
            pvcKind,
            live(),
            config,
            merge(live(), config),
            { manager: 'applier', time: T1 },
            false,
          ),
        (err: unknown) => {
          assert.ok(isStatusError(err, 'Conflict'));
          assert.equal(err.code, 409);
          assert.equal(
            err.message,
            'Apply failed with 1 conflict: conflict with "binder" using v1: .spec.volumeName',
          );
          assert.deepEqual(err.details?.causes, [
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "binder" using v1',
              field: '.spec.volumeName',
            },
          ]);
          return true;
        },
      );
    });

    it('several conflicts are listed by manager', () => {
      const base = live();
      (base.metadata['managedFields'] as ManagedFieldsEntry[]).push(
        entry(
          'labeller',
          'Update',
          fromPaths([
            ['f:metadata', 'f:labels', 'f:a'],
            ['f:metadata', 'f:labels', 'f:b'],
          ]),
        ),
      );
      const config = claim({ volumeName: 'pv2' }, { labels: { a: 'x', b: 'y' } });
      assert.throws(
        () =>
          applyManagedFields(
            pvcKind,
            base,
            config,
            merge(base, config),
            { manager: 'other', time: T1 },
            false,
          ),
        {
          message:
            'Apply failed with 5 conflicts: conflicts with "applier":\n- .metadata.labels.a\n- .metadata.labels.b\nconflicts with "binder" using v1:\n- .spec.volumeName\nconflicts with "labeller" using v1:\n- .metadata.labels.a\n- .metadata.labels.b',
        },
      );
    });

    it('applying the same value shares the field without a conflict', () => {
      const config = claim({ volumeName: 'pv1' });
      const r = applyManagedFields(
        pvcKind,
        live(),
        config,
        merge(live(), config),
        { manager: 'other', time: T1 },
        false,
      );
      assert.deepEqual(owned(r.managedFields, 'other'), ['.spec.volumeName']);
      assert.deepEqual(owned(r.managedFields, 'binder'), ['.spec.volumeName']);
    });

    it('force takes the field from its owner', () => {
      const config = claim({ volumeName: 'pv2' });
      const r = applyManagedFields(
        pvcKind,
        live(),
        config,
        merge(live(), config),
        { manager: 'other', time: T1 },
        true,
      );
      assert.deepEqual(owned(r.managedFields, 'other'), ['.spec.volumeName']);
      assert.equal(
        r.managedFields.find((e) => e.manager === 'binder'),
        undefined,
      );
      assert.equal((r.object['spec'] as { volumeName: string }).volumeName, 'pv2');
    });

    it('fields the manager stops applying are removed unless someone else owns them', () => {
      const base = live();
      (base.metadata['managedFields'] as ManagedFieldsEntry[]).push(
        entry('labeller', 'Update', fromPaths([['f:metadata', 'f:labels', 'f:b']])),
      );
      const config = claim({}, { labels: { a: '1' } });
      const r = applyManagedFields(
        pvcKind,
        base,
        config,
        merge(base, config),
        { manager: 'applier', time: T1 },
        false,
      );
      assert.deepEqual(r.object.metadata.labels, { a: '1', b: '2' });
      assert.equal((r.object['spec'] as Record<string, unknown>)['storageClassName'], undefined);
      assert.equal((r.object['spec'] as Record<string, unknown>)['volumeName'], 'pv1');
      // the empty spec of the configuration is a field of its own
      assert.deepEqual(owned(r.managedFields, 'applier'), ['.metadata.labels.a', '.spec']);
    });

    it('Apply entries come first, and a no-op apply keeps the entry time', () => {
      const config = claim({ storageClassName: 'gold' }, { labels: { a: '1', b: '2' } });
      const r = applyManagedFields(
        pvcKind,
        live(),
        config,
        merge(live(), config),
        { manager: 'applier', time: T1 },
        false,
      );
      assert.deepEqual(
        r.managedFields.map((e) => [e.manager, e.operation, e.time]),
        [
          ['applier', 'Apply', T0],
          ['binder', 'Update', T0],
        ],
      );
    });
  });

  it('malformed stored entries reset ownership', () => {
    assert.deepEqual(decodeManagedFields([{ manager: 'x', operation: 'Bogus', apiVersion: 'v1' }]), []);
    assert.deepEqual(decodeManagedFields('nope'), []);
    assert.equal(decodeManagedFields([entry('m', 'Update', { 'f:a': {} })]).length, 1);
  });

  it('names managers and times as upstream does', () => {
    assert.equal(updateManagerName('mine', 'kubectl/v1.32.4 (linux/amd64)'), 'mine');
    assert.equal(updateManagerName(null, 'kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07'), 'kubectl');
    assert.equal(updateManagerName(null, 'x'.repeat(300)).length, 128);
    assert.equal(updateManagerName(null, undefined), '');
    assert.equal(managedFieldsTime(new Date('2026-12-06T21:00:00.123Z')), '2026-12-06T21:00:00Z');
  });
});

describe('fieldManager and force options', () => {
  const cases: { name: string; options: string; query: string; apply: boolean; message?: string }[] = [
    { name: 'a short manager', options: 'PatchOptions', query: 'fieldManager=me', apply: true },
    { name: 'force with apply', options: 'PatchOptions', query: 'fieldManager=me&force=true', apply: true },
    {
      name: 'a manager over 128 bytes',
      options: 'CreateOptions',
      query: `fieldManager=${'é'.repeat(65)}`,
      apply: false,
      message: 'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: must have at most 128 bytes',
    },
    {
      name: 'a manager with a control character',
      options: 'UpdateOptions',
      query: 'fieldManager=a%00b',
      apply: false,
      message:
        'UpdateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\u0000b": must only contain printable characters',
    },
    {
      name: 'force on a non-apply patch',
      options: 'PatchOptions',
      query: 'force=true',
      apply: false,
      message:
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const check = (): void => checkOwnershipOptions(c.options, new URLSearchParams(c.query), c.apply);
      if (c.message === undefined) check();
      else
        assert.throws(check, (err: unknown) => {
          assert.ok(isStatusError(err, 'Invalid'));
          assert.equal(err.message, c.message);
          return true;
        });
    });
  }
});
