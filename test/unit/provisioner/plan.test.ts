// Table tests of the provisioner's pure decisions: which claims to provision, the CreateVolume
// request, secret templates, topology, the PersistentVolume built from the answer, error states,
// and which volumes to delete.
import assert from 'node:assert/strict';
import type {
  CSINode,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  StorageClass,
} from '../../../src/api/types.js';
import { CsiError, status } from '../../../src/csi/errors.js';
import { csiAccessMode, decideCapabilities } from '../../../src/provisioner/capabilities.js';
import {
  ANN_DELETION_SECRET_NAME,
  ANN_DELETION_SECRET_NAMESPACE,
  ANN_PROVISIONED_ON_NODE,
  ANN_PROVISIONING,
  ATTR_PROVISIONER_IDENTITY,
  FINALIZER_EXTERNAL_PROVISIONER,
  FINALIZER_PROVISIONING,
} from '../../../src/volume/provisioning-names.js';
import type { ClaimAction, ClaimFacts, VolumeAction } from '../../../src/provisioner/plan.js';
import {
  PlanError,
  buildVolume,
  claimChangeMatters,
  decideClaim,
  decideVolume,
  deletionSecretRef,
  planProvision,
  provisioningState,
  withProvisioningMark,
  withoutProvisioningMark,
  withoutSelectedNode,
} from '../../../src/provisioner/plan.js';
import { secretContents, secretReference } from '../../../src/volume/secrets.js';
import type { TopologyView } from '../../../src/provisioner/topology.js';
import { accessibilityRequirements, flattenAllowedTopologies } from '../../../src/provisioner/topology.js';
import {
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
} from '../../../src/volume/annotations.js';
import { newClaim, newClass, newVolume } from '../../helpers/builders.js';

const D = 'example.csi.berth.dev';
const noCaps = { topology: false, singleNodeMultiWriter: false };
const noTopology: TopologyView = { node: () => undefined, csiNode: () => undefined, csiNodes: () => [] };

function sc(extra: Partial<StorageClass> = {}): StorageClass {
  return { ...newClass('fast', { provisioner: D }), ...extra };
}

function claim(annotations: Record<string, string> = {}, extra: Parameters<typeof newClaim>[2] = {}) {
  return newClaim('data', '1Gi', {
    className: 'fast',
    uid: 'u1',
    annotations: { [ANN_STORAGE_PROVISIONER]: D, ...annotations },
    ...extra,
  });
}

function topologyWorld(nodes: Record<string, Record<string, string>>, keys = ['zone']): TopologyView {
  const nodeObjects = new Map<string, Node>(
    Object.entries(nodes).map(([name, labels]) => [
      name,
      { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } },
    ]),
  );
  const csiNodes = new Map<string, CSINode>(
    Object.keys(nodes).map((name) => [
      name,
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSINode',
        metadata: { name },
        spec: { drivers: [{ name: D, nodeID: name, topologyKeys: keys }] },
      },
    ]),
  );
  return {
    node: (n) => nodeObjects.get(n),
    csiNode: (n) => csiNodes.get(n),
    csiNodes: () => [...csiNodes.values()],
  };
}

describe('provisioner plan', function () {
  describe('decideClaim (shouldProvision)', function () {
    const base: ClaimFacts = { driverName: D, storageClass: sc(), volumeExists: false };
    const marked = { [ANN_PROVISIONING]: 'pvc-u1' };
    const cases: {
      name: string;
      claim: PersistentVolumeClaim;
      facts?: Partial<ClaimFacts>;
      want: ClaimAction['type'];
    }[] = [
      { name: 'an Immediate claim of the driver', claim: claim(), want: 'provision' },
      {
        name: 'the beta annotation counts too',
        claim: newClaim('d', '1Gi', {
          className: 'fast',
          annotations: { 'volume.beta.kubernetes.io/storage-provisioner': D },
        }),
        want: 'provision',
      },
      {
        name: 'no provisioner annotation yet',
        claim: newClaim('d', '1Gi', { className: 'fast' }),
        want: 'skip',
      },
      { name: 'another provisioner', claim: claim({ [ANN_STORAGE_PROVISIONER]: 'other' }), want: 'skip' },
      { name: 'already names a volume', claim: claim({}, { volumeName: 'pv1' }), want: 'skip' },
      { name: 'its volume exists', claim: claim(), facts: { volumeExists: true }, want: 'skip' },
      {
        name: 'its volume exists, not bound yet: the bind clears the record',
        claim: claim(marked),
        facts: { volumeExists: true },
        want: 'skip',
      },
      {
        name: 'its volume exists and a binder left the record',
        claim: claim(marked, { volumeName: 'pvc-u1' }),
        facts: { volumeExists: true },
        want: 'clearMark',
      },
      {
        name: 'its volume exists and the claim is going',
        claim: claim(marked, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
        facts: { volumeExists: true },
        want: 'clearMark',
      },
      { name: 'class missing', claim: claim(), facts: { storageClass: undefined }, want: 'waitForClass' },
      {
        name: 'class of another provisioner',
        claim: claim(),
        facts: { storageClass: { ...sc(), provisioner: 'x' } },
        want: 'skip',
      },
      {
        name: 'WFFC without a node',
        claim: claim(),
        facts: { storageClass: sc({ volumeBindingMode: 'WaitForFirstConsumer' }) },
        want: 'skip',
      },
      {
        name: 'WFFC with a node',
        claim: claim({ [ANN_SELECTED_NODE]: 'n1' }),
        facts: { storageClass: sc({ volumeBindingMode: 'WaitForFirstConsumer' }) },
        want: 'provision',
      },
      {
        name: 'node mode, other node',
        claim: claim({ [ANN_SELECTED_NODE]: 'n2' }),
        facts: { nodeName: 'n1' },
        want: 'skip',
      },
      { name: 'node mode, no node', claim: claim(), facts: { nodeName: 'n1' }, want: 'skip' },
      {
        name: 'node mode, own node',
        claim: claim({ [ANN_SELECTED_NODE]: 'n1' }),
        facts: { nodeName: 'n1' },
        want: 'provision',
      },
      {
        name: 'deleting, never started',
        claim: claim({}, { deletionTimestamp: '2025-01-01T00:00:00Z' }),
        want: 'skip',
      },
      {
        name: 'deleting mid-provisioning',
        claim: claim(marked, {
          deletionTimestamp: '2025-01-01T00:00:00Z',
          finalizers: [FINALIZER_PROVISIONING],
        }),
        want: 'cleanup',
      },
      {
        name: 'bound elsewhere mid-provisioning',
        claim: claim(marked, { volumeName: 'other' }),
        want: 'cleanup',
      },
    ];
    for (const c of cases) {
      it(c.name, function () {
        assert.equal(decideClaim(c.claim, { ...base, ...c.facts }).type, c.want);
      });
    }
  });

  describe('in-flight record and claim edits', function () {
    it('adds and removes the annotation and finalizer together, once', function () {
      const withMark = withProvisioningMark(claim(), 'pvc-u1');
      assert.ok(withMark);
      assert.equal(withMark.metadata.annotations?.[ANN_PROVISIONING], 'pvc-u1');
      assert.deepEqual(withMark.metadata.finalizers, [FINALIZER_PROVISIONING]);
      assert.equal(withProvisioningMark(withMark, 'pvc-u1'), undefined);
      const cleared = withoutProvisioningMark(withMark);
      assert.equal(cleared?.metadata.annotations?.[ANN_PROVISIONING], undefined);
      assert.equal(cleared?.metadata.finalizers, undefined, 'no finalizer left, no empty list');
      assert.equal(withoutProvisioningMark(claim()), undefined);
    });
    it('drops the selected node', function () {
      assert.equal(
        withoutSelectedNode(claim({ [ANN_SELECTED_NODE]: 'n1' }))?.metadata.annotations?.[ANN_SELECTED_NODE],
        undefined,
      );
      assert.equal(withoutSelectedNode(claim()), undefined);
    });
    it('ignores status changes and its own record, not spec or annotations', function () {
      const a = claim();
      assert.equal(claimChangeMatters(a, a), true, 'resync');
      assert.equal(claimChangeMatters(a, { ...a, status: { phase: 'Pending' } }), false);
      assert.equal(claimChangeMatters(a, withProvisioningMark(a, 'pvc-u1') ?? a), false);
      assert.equal(claimChangeMatters(a, claim({ [ANN_SELECTED_NODE]: 'n1' })), true);
      assert.equal(claimChangeMatters(a, claim({}, { volumeName: 'x' })), true);
    });
    it('compares annotations in any order, finalizers in order, and sees a deletion', function () {
      const a = claim({ x: '1', y: '2' });
      const reordered = claim({ y: '2', x: '1' });
      assert.equal(claimChangeMatters(a, reordered), false, 'annotation order');
      assert.equal(claimChangeMatters(a, claim({ x: '1' })), true, 'an annotation gone');
      assert.equal(claimChangeMatters(a, claim({ x: '1', y: '3' })), true, 'an annotation changed');
      const finalized = (finalizers: string[]) => ({ ...a, metadata: { ...a.metadata, finalizers } });
      assert.equal(claimChangeMatters(finalized(['p', 'q']), finalized(['q', 'p'])), true);
      assert.equal(claimChangeMatters(finalized(['p']), finalized(['p', FINALIZER_PROVISIONING])), false);
      const deleting = { ...a, metadata: { ...a.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
      assert.equal(claimChangeMatters(a, deleting), true);
    });
    it("edits copies: the informer's claim is left as it was", function () {
      const original = claim({ [ANN_SELECTED_NODE]: 'n1' });
      const before = structuredClone(original);
      const marked = withProvisioningMark(original, 'pvc-u1');
      withoutSelectedNode(original);
      withoutProvisioningMark(marked!);
      assert.deepEqual(original, before);
    });
  });

  describe('planProvision (CreateVolume request)', function () {
    it('builds name, capacity, capability and parameters', function () {
      const plan = planProvision({
        claim: claim({}, { accessModes: ['ReadWriteOnce'] }),
        storageClass: sc({
          mountOptions: ['noatime'],
          parameters: { pool: 'a', 'csi.storage.k8s.io/fstype': 'xfs' },
        }),
        driverName: D,
        capabilities: noCaps,
        topology: noTopology,
      });
      assert.deepEqual(plan.request, {
        name: 'pvc-u1',
        capacity_range: { required_bytes: String(1024 ** 3) },
        volume_capabilities: [
          {
            mount: { fs_type: 'xfs', mount_flags: ['noatime'] },
            access_mode: { mode: 'SINGLE_NODE_WRITER' },
          },
        ],
        parameters: {
          pool: 'a',
          'csi.storage.k8s.io/pvc/name': 'data',
          'csi.storage.k8s.io/pvc/namespace': 'default',
          'csi.storage.k8s.io/pv/name': 'pvc-u1',
        },
      });
      assert.equal(plan.fsType, 'xfs');
    });
    it('defaults fsType to ext4 and leaves it out for Block', function () {
      const fs = planProvision({
        claim: claim(),
        storageClass: sc(),
        driverName: D,
        capabilities: noCaps,
        topology: noTopology,
      });
      assert.equal(fs.fsType, 'ext4');
      const block = planProvision({
        claim: claim({}, { volumeMode: 'Block' }),
        storageClass: sc(),
        driverName: D,
        capabilities: noCaps,
        topology: noTopology,
      });
      assert.equal(block.fsType, undefined);
      assert.deepEqual(block.request.volume_capabilities, [
        { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
      ]);
    });
    const errors: {
      name: string;
      parameters?: Record<string, string>;
      claim?: PersistentVolumeClaim;
      message: RegExp;
    }[] = [
      {
        name: 'unknown reserved key',
        parameters: { 'csi.storage.k8s.io/bogus': 'x' },
        message: /unknown parameter key "csi.storage.k8s.io\/bogus"/,
      },
      {
        name: 'both fstype keys',
        parameters: { fsType: 'ext4', 'csi.storage.k8s.io/fstype': 'xfs' },
        message: /both "fsType" and/,
      },
      {
        name: 'half a secret pair',
        parameters: { 'csi.storage.k8s.io/provisioner-secret-name': 'x' },
        message: /Both must be specified/,
      },
      {
        name: 'a selector',
        claim: claim({}, { selector: { matchLabels: { a: 'b' } } }),
        message: /Selector is not supported/,
      },
      {
        name: 'ROX with RWO',
        claim: claim({}, { accessModes: ['ReadOnlyMany', 'ReadWriteOnce'] }),
        message: /ReadOnlyMany and ReadWriteOnce/,
      },
    ];
    for (const c of errors) {
      it(`refuses ${c.name}`, function () {
        assert.throws(
          () =>
            planProvision({
              claim: c.claim ?? claim(),
              storageClass: sc({ parameters: c.parameters ?? {} }),
              driverName: D,
              capabilities: noCaps,
              topology: noTopology,
            }),
          (err: unknown) => err instanceof PlanError && c.message.test(err.message),
        );
      });
    }
  });

  describe('access modes', function () {
    const table: [string[], boolean, string | RegExp][] = [
      [['ReadWriteOnce'], false, 'SINGLE_NODE_WRITER'],
      [['ReadWriteOnce'], true, 'SINGLE_NODE_MULTI_WRITER'],
      [['ReadWriteOncePod'], false, 'SINGLE_NODE_WRITER'],
      [['ReadWriteOncePod'], true, 'SINGLE_NODE_SINGLE_WRITER'],
      [['ReadOnlyMany'], false, 'MULTI_NODE_READER_ONLY'],
      [['ReadWriteMany', 'ReadWriteOnce'], false, 'MULTI_NODE_MULTI_WRITER'],
      [['ReadWriteOncePod', 'ReadWriteOnce'], false, /ReadWriteOncePod with other access modes/],
      [[], false, /unsupported access modes/],
    ];
    for (const [modes, snmw, want] of table) {
      it(`${modes.join('+') || 'none'}${snmw ? ' (SINGLE_NODE_MULTI_WRITER)' : ''}`, function () {
        const run = () => csiAccessMode(modes as never, snmw);
        if (typeof want === 'string') assert.equal(run(), want);
        else assert.throws(run, want);
      });
    }
    it('needs CREATE_DELETE_VOLUME and reports topology, snapshot and clone support', function () {
      assert.throws(
        () => decideCapabilities([{ service: { type: 'CONTROLLER_SERVICE' } }], []),
        /CREATE_DELETE_VOLUME/,
      );
      assert.deepEqual(
        decideCapabilities(
          [
            { service: { type: 'CONTROLLER_SERVICE' } },
            { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } },
          ],
          [{ rpc: { type: 'CREATE_DELETE_VOLUME' } }, { rpc: { type: 'CLONE_VOLUME' } }],
        ),
        { topology: true, singleNodeMultiWriter: false, snapshots: false, clone: true },
      );
    });
  });

  describe('secret templates', function () {
    const ctx = {
      pvName: 'pvc-u1',
      pvc: { name: 'db', namespace: 'team', annotations: { 'a/b': 'from-ann' } },
    };
    const p = (name: string, namespace: string) => ({
      'csi.storage.k8s.io/node-stage-secret-name': name,
      'csi.storage.k8s.io/node-stage-secret-namespace': namespace,
    });
    const table: {
      name: string;
      params: Record<string, string>;
      context?: typeof ctx | { pvName: string };
      want: { name: string; namespace: string } | undefined | RegExp;
    }[] = [
      { name: 'none', params: {}, want: undefined },
      { name: 'literal', params: p('s', 'ns'), want: { name: 's', namespace: 'ns' } },
      {
        name: 'pvc name and namespace',
        params: p('${pvc.name}-x', '${pvc.namespace}'),
        want: { name: 'db-x', namespace: 'team' },
      },
      { name: 'pv name', params: p('${pv.name}', 'ns'), want: { name: 'pvc-u1', namespace: 'ns' } },
      {
        name: 'pvc annotation',
        params: p("${pvc.annotations['a/b']}", 'ns'),
        want: { name: 'from-ann', namespace: 'ns' },
      },
      {
        name: 'pvc.name not allowed in a namespace',
        params: p('s', '${pvc.name}'),
        want: /invalid tokens: \["pvc.name"\]/,
      },
      { name: 'unknown token', params: p('${nope}', 'ns'), want: /invalid tokens/ },
      {
        name: 'pvc fields without a claim (deletion)',
        params: p('${pvc.name}', 'ns'),
        context: { pvName: 'pvc-u1' },
        want: /invalid tokens/,
      },
      { name: 'invalid namespace', params: p('s', 'Bad_NS'), want: /namespace "Bad_NS" is invalid/ },
      {
        name: 'class-wide default pair',
        params: { 'csi.storage.k8s.io/secret-name': 'd', 'csi.storage.k8s.io/secret-namespace': 'dns' },
        want: { name: 'd', namespace: 'dns' },
      },
    ];
    for (const c of table) {
      it(c.name, function () {
        const run = () => secretReference('node-stage', c.params, c.context ?? ctx);
        if (c.want instanceof RegExp) assert.throws(run, c.want);
        else assert.deepEqual(run(), c.want);
      });
    }
    it('decodes base64 data, stringData winning', function () {
      assert.deepEqual(
        secretContents({
          data: { a: Buffer.from('x').toString('base64'), b: 'eQ==' },
          stringData: { b: 'z' },
        }),
        {
          a: 'x',
          b: 'z',
        },
      );
    });
  });

  describe('topology', function () {
    const world = topologyWorld({ n1: { zone: 'a' }, n2: { zone: 'b' }, n3: { zone: 'c' } });
    it('puts the selected node first among every registered node', function () {
      assert.deepEqual(accessibilityRequirements(D, 'n2', undefined, world), {
        requisite: [{ segments: { zone: 'a' } }, { segments: { zone: 'b' } }, { segments: { zone: 'c' } }],
        preferred: [{ segments: { zone: 'b' } }, { segments: { zone: 'c' } }, { segments: { zone: 'a' } }],
      });
    });
    it('limits requisite to allowedTopologies', function () {
      const allowed = [{ matchLabelExpressions: [{ key: 'zone', values: ['b', 'c'] }] }];
      assert.deepEqual(accessibilityRequirements(D, 'n3', allowed, world).preferred, [
        { segments: { zone: 'c' } },
        { segments: { zone: 'b' } },
      ]);
      assert.throws(
        () => accessibilityRequirements(D, 'n1', allowed, world),
        /not in the allowed topologies/,
      );
    });
    it('flattens allowedTopologies terms', function () {
      assert.deepEqual(
        flattenAllowedTopologies([
          {
            matchLabelExpressions: [
              { key: 'zone', values: ['a', 'b'] },
              { key: 'rack', values: ['1'] },
            ],
          },
          {
            matchLabelExpressions: [
              { key: 'zone', values: ['a'] },
              { key: 'rack', values: ['1'] },
            ],
          },
        ]),
        [
          { zone: 'a', rack: '1' },
          { zone: 'b', rack: '1' },
        ],
      );
    });
    it('asks to reschedule when the node or its CSINode is unknown', function () {
      assert.throws(
        () => accessibilityRequirements(D, 'gone', undefined, world),
        (err: unknown) => err instanceof PlanError && err.reschedule,
      );
    });
    it('refuses a node without the topology labels, and Immediate claims with nowhere to go', function () {
      const unlabelled = topologyWorld({ n1: {} });
      assert.throws(
        () => accessibilityRequirements(D, 'n1', undefined, unlabelled),
        /do not cover the topology keys/,
      );
      assert.throws(
        () => accessibilityRequirements(D, undefined, undefined, noTopology),
        /no available topology/,
      );
    });
    it('sends requirements only to drivers that take them', function () {
      const plan = planProvision({
        claim: claim({ [ANN_SELECTED_NODE]: 'n1' }),
        storageClass: sc(),
        driverName: D,
        capabilities: { topology: true, singleNodeMultiWriter: false },
        topology: world,
      });
      assert.deepEqual(plan.request.accessibility_requirements?.preferred?.[0], { segments: { zone: 'a' } });
    });
  });

  describe('buildVolume', function () {
    const storageClass = sc({
      reclaimPolicy: 'Retain',
      mountOptions: ['ro'],
      parameters: {
        'csi.storage.k8s.io/provisioner-secret-name': 'prov',
        'csi.storage.k8s.io/provisioner-secret-namespace': 'sys',
        'csi.storage.k8s.io/node-publish-secret-name': 'pub',
        'csi.storage.k8s.io/node-publish-secret-namespace': 'sys',
      },
    });
    const c = claim({}, { accessModes: ['ReadWriteMany'] });
    const plan = planProvision({
      claim: c,
      storageClass,
      driverName: D,
      capabilities: noCaps,
      topology: noTopology,
    });

    const now = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
    it('makes the PV external-provisioner makes, Bound from the start', function () {
      const pv = buildVolume({
        claim: c,
        storageClass,
        driverName: D,
        plan,
        identity: 'id-1',
        now,
        volume: {
          volume_id: 'vol-9',
          capacity_bytes: String(2 * 1024 ** 3),
          volume_context: { k: 'v' },
          accessible_topology: [{ segments: { zone: 'a' } }],
        },
      });
      assert.deepEqual(pv, {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: 'pvc-u1',
          annotations: {
            [ANN_DYNAMICALLY_PROVISIONED]: D,
            [ANN_DELETION_SECRET_NAME]: 'prov',
            [ANN_DELETION_SECRET_NAMESPACE]: 'sys',
          },
          finalizers: [FINALIZER_EXTERNAL_PROVISIONER, 'kubernetes.io/pv-protection'],
        },
        spec: {
          capacity: { storage: '2Gi' },
          accessModes: ['ReadWriteMany'],
          volumeMode: 'Filesystem',
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: 'fast',
          claimRef: {
            kind: 'PersistentVolumeClaim',
            apiVersion: 'v1',
            namespace: 'default',
            name: 'data',
            uid: 'u1',
          },
          csi: {
            driver: D,
            volumeHandle: 'vol-9',
            volumeAttributes: { k: 'v', [ATTR_PROVISIONER_IDENTITY]: 'id-1' },
            fsType: 'ext4',
            nodePublishSecretRef: { name: 'pub', namespace: 'sys' },
          },
          mountOptions: ['ro'],
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
            },
          },
        },
        status: { phase: 'Bound', lastPhaseTransitionTime: '2025-01-02T03:04:05Z' },
      });
    });
    it('takes the requested size when the driver reports none, and refuses a smaller volume', function () {
      const base = { claim: c, storageClass, driverName: D, plan, identity: 'i', now };
      assert.equal(
        buildVolume({ ...base, volume: { volume_id: 'v', capacity_bytes: '0' } }).spec.capacity?.storage,
        '1Gi',
      );
      assert.throws(
        () => buildVolume({ ...base, volume: { volume_id: 'v', capacity_bytes: '1024' } }),
        /less than requested/,
      );
    });
    it('records the node in node-deployment mode', function () {
      const pv = buildVolume({
        claim: c,
        storageClass,
        driverName: D,
        plan,
        identity: 'i',
        now,
        nodeName: 'n1',
        volume: { volume_id: 'v' },
      });
      assert.equal(pv.metadata.annotations?.[ANN_PROVISIONED_ON_NODE], 'n1');
    });
  });

  describe('provisioningState (checkError)', function () {
    const table: [string, unknown, boolean, string][] = [
      ['deadline', new CsiError(status.DEADLINE_EXCEEDED, 'x'), false, 'background'],
      ['unavailable', new CsiError(status.UNAVAILABLE, 'x'), false, 'background'],
      ['a non-gRPC error', new Error('socket'), false, 'background'],
      ['internal', new CsiError(status.INTERNAL, 'x'), false, 'finished'],
      ['already exists', new CsiError(status.ALREADY_EXISTS, 'x'), false, 'finished'],
      ['invalid argument', new CsiError(status.INVALID_ARGUMENT, 'x'), false, 'infeasible'],
      ['resource exhausted with a node', new CsiError(status.RESOURCE_EXHAUSTED, 'x'), true, 'reschedule'],
      ['resource exhausted without one', new CsiError(status.RESOURCE_EXHAUSTED, 'x'), false, 'background'],
      ['node gone', new PlanError('node', { reschedule: true }), true, 'reschedule'],
    ];
    for (const [name, err, selectedNode, want] of table) {
      it(name, function () {
        assert.equal(provisioningState(err, { selectedNode }), want);
      });
    }
  });

  describe('decideVolume (shouldDelete)', function () {
    const pv = (
      options: Parameters<typeof newVolume>[2] = {},
      annotations: Record<string, string> = {},
    ): PersistentVolume => {
      const v = newVolume('pvc-u1', '1Gi', {
        source: 'csi',
        policy: 'Delete',
        phase: 'Released',
        finalizers: [FINALIZER_EXTERNAL_PROVISIONER],
        annotations: { [ANN_DYNAMICALLY_PROVISIONED]: D, ...annotations },
        ...options,
      });
      if (v.spec.csi) v.spec.csi.driver = D;
      return v;
    };
    const cases: { name: string; volume: PersistentVolume; nodeName?: string; want: VolumeAction['type'] }[] =
      [
        { name: 'Released Delete volume', volume: pv(), want: 'delete' },
        { name: 'still Bound', volume: pv({ phase: 'Bound' }), want: 'skip' },
        { name: 'Retain keeps no finalizer', volume: pv({ policy: 'Retain' }), want: 'removeFinalizer' },
        { name: 'Retain without finalizer', volume: pv({ policy: 'Retain', finalizers: [] }), want: 'skip' },
        {
          name: 'provisioned by someone else',
          volume: pv({}, { [ANN_DYNAMICALLY_PROVISIONED]: 'other' }),
          want: 'skip',
        },
        {
          name: 'deleting without our finalizer',
          volume: pv({ finalizers: [], deletionTimestamp: '2025-01-01T00:00:00Z' }),
          want: 'skip',
        },
        {
          name: 'deleting with our finalizer',
          volume: pv({ deletionTimestamp: '2025-01-01T00:00:00Z' }),
          want: 'delete',
        },
        {
          name: 'node mode, own annotation',
          volume: pv({}, { [ANN_PROVISIONED_ON_NODE]: 'n1' }),
          nodeName: 'n1',
          want: 'delete',
        },
        {
          name: 'node mode, other annotation',
          volume: pv({}, { [ANN_PROVISIONED_ON_NODE]: 'n2' }),
          nodeName: 'n1',
          want: 'skip',
        },
        { name: 'node mode, affinity to it', volume: pv({ node: 'n1' }), nodeName: 'n1', want: 'delete' },
        { name: 'node mode, affinity elsewhere', volume: pv({ node: 'n2' }), nodeName: 'n1', want: 'skip' },
      ];
    for (const c of cases) {
      it(c.name, function () {
        assert.equal(
          decideVolume(c.volume, { driverName: D, ...(c.nodeName ? { nodeName: c.nodeName } : {}) }).type,
          c.want,
        );
      });
    }
    it('uses the remembered deletion secret, else the class templated with the volume name', function () {
      assert.deepEqual(
        deletionSecretRef(
          pv({}, { [ANN_DELETION_SECRET_NAME]: 's', [ANN_DELETION_SECRET_NAMESPACE]: 'n' }),
          undefined,
        ),
        {
          name: 's',
          namespace: 'n',
        },
      );
      assert.equal(
        deletionSecretRef(
          pv({}, { [ANN_DELETION_SECRET_NAME]: '', [ANN_DELETION_SECRET_NAMESPACE]: '' }),
          sc(),
        ),
        undefined,
      );
      const templated = sc({
        parameters: {
          'csi.storage.k8s.io/provisioner-secret-name': 'for-${pv.name}',
          'csi.storage.k8s.io/provisioner-secret-namespace': 'sys',
        },
      });
      assert.deepEqual(deletionSecretRef(pv(), templated), { name: 'for-pvc-u1', namespace: 'sys' });
    });
  });
});
