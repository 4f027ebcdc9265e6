// Table tests of taint-based eviction (PURE): which pods leave a node with NoExecute taints, and
// when, as Kubernetes' taint eviction controller decides; and the API server's default tolerations.
import assert from 'node:assert/strict';
import type { Node, Pod, Toleration } from '../../../src/api/types.js';
import { withDefaultTolerations } from '../../../src/apiserver/default-tolerations.js';
import {
  decideTaintEviction,
  isStrandedOnOutOfServiceNode,
  minTolerationMs,
} from '../../../src/node-lifecycle/index.js';
import type { Taint } from '../../../src/volume/node-health.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const UNREACHABLE: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: at(T0) };
const NOT_READY: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: at(T0) };
const DEFAULTS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

function node(taints: Taint[]): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { taints } };
}

function pod(tolerations: Toleration[] | undefined, extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u1', ...extra },
    spec: { nodeName: 'n1', containers: [], ...(tolerations ? { tolerations } : {}) },
  };
}

describe('taint eviction decision', function () {
  const cases: {
    name: string;
    taints: Taint[];
    tolerations?: Toleration[];
    nowMs: number;
    firstSeenMs?: number;
    want: string;
  }[] = [
    { name: 'no taints: stays', taints: [], tolerations: DEFAULTS, nowMs: T0, want: 'Keep' },
    {
      name: 'NoSchedule only: stays',
      taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }],
      nowMs: T0 + 10 ** 9,
      want: 'Keep',
    },
    { name: 'untolerated NoExecute: at once', taints: [UNREACHABLE], nowMs: T0, want: 'Evict' },
    {
      name: 'default tolerations: waits 300 s from timeAdded',
      taints: [UNREACHABLE],
      tolerations: DEFAULTS,
      nowMs: T0 + 299_000,
      want: `EvictLater@${T0 + 300_000}`,
    },
    {
      name: 'default tolerations: after 300 s',
      taints: [UNREACHABLE],
      tolerations: DEFAULTS,
      nowMs: T0 + 300_000,
      want: 'Evict',
    },
    {
      name: 'tolerated forever (no tolerationSeconds)',
      taints: [UNREACHABLE],
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }],
      nowMs: T0 + 10 ** 9,
      want: 'Keep',
    },
    {
      name: 'the smallest tolerationSeconds of those used counts',
      taints: [UNREACHABLE, NOT_READY],
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 60,
        },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 600 },
        { key: 'other', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 },
      ],
      nowMs: T0,
      want: `EvictLater@${T0 + 60_000}`,
    },
    {
      name: 'one of two taints untolerated: at once',
      taints: [UNREACHABLE, { key: 'example.com/broken', effect: 'NoExecute' }],
      tolerations: DEFAULTS,
      nowMs: T0,
      want: 'Evict',
    },
    {
      name: 'an empty key with Exists tolerates every taint',
      taints: [UNREACHABLE, { key: 'example.com/broken', value: 'x', effect: 'NoExecute' }],
      tolerations: [{ operator: 'Exists' }],
      nowMs: T0 + 10 ** 9,
      want: 'Keep',
    },
    {
      name: 'Equal compares the value',
      taints: [{ key: 'k', value: 'a', effect: 'NoExecute' }],
      tolerations: [{ key: 'k', operator: 'Equal', value: 'b', effect: 'NoExecute' }],
      nowMs: T0,
      want: 'Evict',
    },
    {
      name: 'tolerationSeconds 0 or less: at once',
      taints: [UNREACHABLE],
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: -5 }],
      nowMs: T0,
      want: 'Evict',
    },
    {
      name: 'a taint without timeAdded counts from when the controller first saw it',
      taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }],
      tolerations: DEFAULTS,
      nowMs: T0 + 100_000,
      firstSeenMs: T0 + 50_000,
      want: `EvictLater@${T0 + 350_000}`,
    },
    {
      name: 'a garbled timeAdded is ignored, not trusted',
      taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: 'yesterday' }],
      tolerations: DEFAULTS,
      nowMs: T0,
      want: `EvictLater@${T0 + 300_000}`,
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      const decision = decideTaintEviction(pod(c.tolerations), node(c.taints), c.nowMs, c.firstSeenMs);
      const got = decision.kind === 'EvictLater' ? `EvictLater@${decision.atMs}` : decision.kind;
      assert.equal(got, c.want);
    });
  }

  it('leaves pods not on a node, on a missing node, or already being deleted', function () {
    const unscheduled = pod(undefined);
    delete unscheduled.spec.nodeName;
    assert.equal(decideTaintEviction(unscheduled, node([UNREACHABLE]), T0).kind, 'Keep');
    assert.equal(decideTaintEviction(pod(undefined), undefined, T0).kind, 'Keep');
    const deleting = pod(undefined, { deletionTimestamp: at(T0) });
    assert.equal(decideTaintEviction(deleting, node([UNREACHABLE]), T0).kind, 'Keep');
  });

  it('minTolerationMs: none set is forever, the smallest otherwise', function () {
    assert.equal(minTolerationMs([]), undefined);
    assert.equal(minTolerationMs([{ key: 'a' }]), undefined);
    assert.equal(minTolerationMs([{ tolerationSeconds: 30 }, { tolerationSeconds: 10 }, {}]), 10_000);
    assert.equal(minTolerationMs([{ tolerationSeconds: 30 }, { tolerationSeconds: 0 }]), 0);
  });
});

describe('DefaultTolerationSeconds admission', function () {
  const podWith = (tolerations?: unknown) =>
    ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [], tolerations },
    }) as never;
  const keys = (obj: { spec: { tolerations?: Toleration[] } }) =>
    (obj.spec.tolerations ?? []).map((t) => `${t.key}:${t.effect}:${t.tolerationSeconds}`);

  it('adds not-ready and unreachable NoExecute for 300 s to a pod without them', function () {
    assert.deepEqual(keys(withDefaultTolerations(podWith()) as never), [
      'node.kubernetes.io/not-ready:NoExecute:300',
      'node.kubernetes.io/unreachable:NoExecute:300',
    ]);
  });

  it("keeps the pod's own toleration of a key, any effect-less or key-less one, and adds only what is missing", function () {
    const own = {
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 6000,
    };
    assert.deepEqual(keys(withDefaultTolerations(podWith([own])) as never), [
      'node.kubernetes.io/unreachable:NoExecute:6000',
      'node.kubernetes.io/not-ready:NoExecute:300',
    ]);
    assert.deepEqual(keys(withDefaultTolerations(podWith([{ operator: 'Exists' }])) as never), [
      'undefined:undefined:undefined',
    ]);
    // a NoSchedule toleration does not cover NoExecute
    const noSchedule = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' };
    assert.equal(keys(withDefaultTolerations(podWith([noSchedule])) as never).length, 3);
  });

  it('leaves other kinds and a malformed tolerations field to validation', function () {
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: {} };
    assert.equal(withDefaultTolerations(claim), claim);
    const bad = podWith('everything');
    assert.equal(withDefaultTolerations(bad), bad);
  });
});

describe('pods stranded on an out-of-service node (pod GC, non-graceful node shutdown)', function () {
  const OUT_OF_SERVICE: Taint = {
    key: 'node.kubernetes.io/out-of-service',
    value: 'nodeshutdown',
    effect: 'NoExecute',
  };
  const withReady = (n: Node, status: string): Node => ({
    ...n,
    status: { conditions: [{ type: 'Ready', status }] },
  });
  const deleting = { deletionTimestamp: at(T0), deletionGracePeriodSeconds: 30 };
  const failed = (p: Pod): Pod => ({ ...p, status: { phase: 'Failed' } });
  const cases: [string, Pod, Node | undefined, boolean][] = [
    [
      'terminating on an unreachable out-of-service node',
      pod(DEFAULTS, deleting),
      withReady(node([UNREACHABLE, OUT_OF_SERVICE]), 'Unknown'),
      true,
    ],
    [
      'terminating on a NotReady node, the taint with any effect',
      pod(DEFAULTS, deleting),
      withReady(node([{ ...OUT_OF_SERVICE, effect: 'NoSchedule' }]), 'False'),
      true,
    ],
    ['not being deleted', pod(DEFAULTS), withReady(node([UNREACHABLE, OUT_OF_SERVICE]), 'Unknown'), false],
    ['already Failed', failed(pod(DEFAULTS, deleting)), withReady(node([OUT_OF_SERVICE]), 'Unknown'), false],
    ['on a Ready node', pod(DEFAULTS, deleting), withReady(node([OUT_OF_SERVICE]), 'True'), false],
    [
      'on an unreachable node without the taint',
      pod(DEFAULTS, deleting),
      withReady(node([UNREACHABLE]), 'Unknown'),
      false,
    ],
    ['its node gone', pod(DEFAULTS, deleting), undefined, false],
  ];
  for (const [name, p, n, want] of cases) {
    it(`${name}: ${want ? 'failed and force-deleted' : 'left alone'}`, function () {
      assert.equal(isStrandedOnOutOfServiceNode(p, n), want);
    });
  }
});
