// The namespace controller's decision, case by case: nothing to do for a namespace that is not
// being deleted (or whose kubernetes finalizer is already off), delete what is not yet being
// deleted, say what remains and which finalizers hold it, finalize once empty.
import assert from 'node:assert/strict';
import { K, kindNamed } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { decideNamespace, type NamespaceContent } from '../../../src/namespaces/index.js';

const now = new Date('2026-12-07T10:00:00Z');

function namespace(
  opts: { deleting?: boolean; finalizers?: string[]; conditions?: unknown[] } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'shop',
      uid: 'ns-uid',
      ...(opts.deleting ? { deletionTimestamp: '2026-12-07T09:59:00Z' } : {}),
    },
    spec: { finalizers: opts.finalizers ?? ['kubernetes'] },
    status: {
      phase: opts.deleting ? 'Terminating' : 'Active',
      ...(opts.conditions ? { conditions: opts.conditions } : {}),
    },
  };
}

function object(name: string, opts: { deleting?: boolean; finalizers?: string[] } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Whatever',
    metadata: {
      name,
      namespace: 'shop',
      uid: `${name}-uid`,
      ...(opts.deleting ? { deletionTimestamp: '2026-12-07T09:59:30Z' } : {}),
      ...(opts.finalizers ? { finalizers: opts.finalizers } : {}),
    },
  };
}

const content = (claims: KubeObject[], configMaps: KubeObject[] = []): NamespaceContent[] => [
  { kind: K.pvc, objects: claims },
  { kind: kindNamed('ConfigMap'), objects: configMaps },
];

interface Case {
  name: string;
  namespace: KubeObject;
  content: NamespaceContent[];
  deletes: string[];
  finalize?: string[];
  conditions?: Record<string, string>;
  remains: boolean;
}

const cases: Case[] = [
  {
    name: 'an Active namespace',
    namespace: namespace(),
    content: content([object('c1')]),
    deletes: [],
    remains: false,
  },
  {
    name: 'deleting, but its kubernetes finalizer is already off',
    namespace: namespace({ deleting: true, finalizers: ['example.com/other'] }),
    content: content([object('c1')]),
    deletes: [],
    remains: false,
  },
  {
    name: 'deleting with content: everything not yet being deleted is deleted',
    namespace: namespace({ deleting: true }),
    content: content(
      [object('c1'), object('c2', { deleting: true, finalizers: ['kubernetes.io/pvc-protection'] })],
      [object('cm')],
    ),
    deletes: ['persistentvolumeclaims/c1', 'configmaps/cm'],
    conditions: {
      NamespaceContentRemaining:
        'True SomeResourcesRemain Some resources are remaining: configmaps. has 1 resource instances, persistentvolumeclaims. has 2 resource instances',
      NamespaceFinalizersRemaining:
        'True SomeFinalizersRemain Some content in the namespace has finalizers remaining: kubernetes.io/pvc-protection in 1 resource instances',
    },
    remains: true,
  },
  {
    name: 'deleting and empty: the kubernetes finalizer comes off, others stay',
    namespace: namespace({ deleting: true, finalizers: ['kubernetes', 'example.com/other'] }),
    content: content([], []),
    deletes: [],
    finalize: ['example.com/other'],
    conditions: {
      NamespaceContentRemaining: 'False ContentRemoved All content successfully removed',
      NamespaceFinalizersRemaining: 'False ContentHasNoFinalizers All content-preserving finalizers finished',
    },
    remains: false,
  },
];

describe('namespace controller decide', function () {
  for (const c of cases) {
    it(c.name, function () {
      const decision = decideNamespace(c.namespace, c.content, now);
      const deletes = decision.actions.flatMap((a) =>
        a.kind === 'Delete' ? [`${a.of.plural}/${a.name}`] : [],
      );
      assert.deepEqual(deletes, c.deletes);
      const finalize = decision.actions.find((a) => a.kind === 'Finalize');
      assert.deepEqual(finalize?.kind === 'Finalize' ? finalize.finalizers : undefined, c.finalize);
      const set = decision.actions.find((a) => a.kind === 'SetConditions');
      const conditions =
        set?.kind === 'SetConditions'
          ? Object.fromEntries(set.conditions.map((x) => [x.type, `${x.status} ${x.reason} ${x.message}`]))
          : undefined;
      assert.deepEqual(conditions, c.conditions);
      assert.equal(decision.contentRemains, c.remains);
    });
  }

  it('writes conditions only when they change, keeping their transition time', function () {
    const first = decideNamespace(
      namespace({ deleting: true }),
      content([object('c1', { deleting: true })]),
      now,
    );
    const set = first.actions.find((a) => a.kind === 'SetConditions');
    assert.ok(set?.kind === 'SetConditions');
    assert.ok(set.conditions.every((c) => c.lastTransitionTime === '2026-12-07T10:00:00Z'));
    const later = new Date(now.getTime() + 60_000);
    const again = decideNamespace(
      namespace({ deleting: true, conditions: set.conditions }),
      content([object('c1', { deleting: true })]),
      later,
    );
    assert.deepEqual(again.actions, [], 'nothing to delete, nothing new to say');
    const emptied = decideNamespace(
      namespace({ deleting: true, conditions: set.conditions }),
      content([]),
      later,
    );
    const changed = emptied.actions.find((a) => a.kind === 'SetConditions');
    assert.ok(changed?.kind === 'SetConditions');
    const byType = Object.fromEntries(changed.conditions.map((c) => [c.type, c.lastTransitionTime]));
    assert.equal(
      byType['NamespaceContentRemaining'],
      '2026-12-07T10:01:00Z',
      'True -> False is a transition',
    );
  });
});
