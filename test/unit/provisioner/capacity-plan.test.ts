// Table tests of capacity publishing's pure decisions: which (class, segment) pairs to publish,
// the GetCapacity request of each, and the writes that bring the published objects in line
// (none when nothing changed).
import assert from 'node:assert/strict';
import type { CSINode, CSIStorageCapacity, Node, StorageClass } from '../../../src/api/types.js';
import {
  capacityRequest,
  capacitySlots,
  LABEL_DRIVER_NAME,
  LABEL_MANAGED_BY,
  managedBy,
  managedSelector,
  planCapacity,
  type CapacitySlot,
  type PublisherIdentity,
} from '../../../src/provisioner/capacity-plan.js';
import type { TopologyView } from '../../../src/provisioner/topology.js';
import { newClass } from '../../helpers/builders.js';

const D = 'local.csi.berth.io';
const KEY = 'topology.local.csi.berth.io/node';
const GiB = 1024n ** 3n;

function cls(name: string, provisioner = D, extra: Partial<StorageClass> = {}): StorageClass {
  const c = newClass(name, { provisioner, bindingMode: 'WaitForFirstConsumer' });
  return { ...c, ...extra, metadata: { ...c.metadata, uid: `uid-${name}`, ...extra.metadata } };
}

function node(name: string, labels: Record<string, string>): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: {} };
}

function csiNode(name: string, keys: string[] = [KEY], driver = D): CSINode {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSINode',
    metadata: { name },
    spec: { drivers: [{ name: driver, nodeID: name, topologyKeys: keys }] },
  };
}

function viewOf(nodes: Node[], csiNodes: CSINode[]): TopologyView {
  return {
    node: (n) => nodes.find((x) => x.metadata.name === n),
    csiNode: (n) => csiNodes.find((x) => x.metadata.name === n),
    csiNodes: () => csiNodes,
  };
}

const twoNodes = viewOf([node('a', { [KEY]: 'a' }), node('b', { [KEY]: 'b' })], [csiNode('a'), csiNode('b')]);
const controllerMode: PublisherIdentity = { driverName: D, namespace: 'kube-system' };
const nodeA: PublisherIdentity = { ...controllerMode, nodeName: 'a' };

function published(
  identity: PublisherIdentity,
  slot: CapacitySlot,
  capacity: string,
  name = 'csisc-1',
): CSIStorageCapacity {
  const [action] = planCapacity(identity, [{ slot, value: { capacity: 0n } }], []);
  const object = structuredClone(action!.object);
  return { ...object, metadata: { ...object.metadata, name }, capacity };
}

describe('capacity publishing: slots', function () {
  it('controller mode: every class of the driver times every node segment', function () {
    const slots = capacitySlots(controllerMode, [cls('fast'), cls('other', 'x.example.com')], twoNodes);
    assert.deepEqual(
      slots.map((s) => [s.storageClass.metadata.name, s.segment]),
      [
        ['fast', { [KEY]: 'a' }],
        ['fast', { [KEY]: 'b' }],
      ],
    );
  });

  it('node-deployment mode: only its own node, and nothing before its CSINode lists the driver', function () {
    assert.deepEqual(
      capacitySlots(nodeA, [cls('fast')], twoNodes).map((s) => s.segment),
      [{ [KEY]: 'a' }],
    );
    const unregistered = viewOf([node('a', { [KEY]: 'a' })], []);
    assert.deepEqual(capacitySlots(nodeA, [cls('fast')], unregistered), []);
    const unlabelled = viewOf([node('a', {})], [csiNode('a')]);
    assert.deepEqual(capacitySlots(nodeA, [cls('fast')], unlabelled), []);
  });

  it('a driver without topology: one segment every node sees (controller mode only)', function () {
    const flat = viewOf([node('a', {})], [csiNode('a', [])]);
    assert.deepEqual(
      capacitySlots(controllerMode, [cls('fast')], flat).map((s) => s.segment),
      [{}],
    );
    assert.deepEqual(capacitySlots(nodeA, [cls('fast')], flat), []);
  });

  it('classes being deleted publish nothing', function () {
    const going = cls('fast', D, { metadata: { name: 'fast', deletionTimestamp: '2026-01-01T00:00:00Z' } });
    assert.deepEqual(capacitySlots(controllerMode, [going], twoNodes), []);
  });

  it('the GetCapacity request: class parameters without the sidecar keys, the segment as topology', function () {
    const c = cls('fast', D, {
      parameters: { fsType: 'xfs', 'csi.storage.k8s.io/fstype': 'xfs' },
    });
    assert.deepEqual(capacityRequest({ storageClass: c, segment: { [KEY]: 'a' } }), {
      parameters: { fsType: 'xfs' },
      accessible_topology: { segments: { [KEY]: 'a' } },
    });
    assert.equal(capacityRequest({ storageClass: c, segment: {} })?.accessible_topology, null);
    const bad = cls('bad', D, { parameters: { 'csi.storage.k8s.io/nonsense': 'x' } });
    assert.equal(capacityRequest({ storageClass: bad, segment: {} }), undefined);
  });

  it('managed-by names the node in node-deployment mode, within a label value', function () {
    assert.equal(managedBy(controllerMode), 'external-provisioner');
    assert.equal(managedBy(nodeA), 'external-provisioner-a');
    const long = managedBy({ ...nodeA, nodeName: 'n'.repeat(100) });
    assert.ok(long.length <= 63, long);
    assert.notEqual(long, managedBy({ ...nodeA, nodeName: `${'n'.repeat(99)}m` }));
    assert.equal(
      managedSelector(nodeA),
      `${LABEL_DRIVER_NAME}=${D},${LABEL_MANAGED_BY}=external-provisioner-a`,
    );
  });
});

describe('capacity publishing: writes', function () {
  const slot: CapacitySlot = { storageClass: cls('fast'), segment: { [KEY]: 'a' } };

  it('creates one object per slot: labelled, owned by the class, topology and sizes as reported', function () {
    const actions = planCapacity(
      nodeA,
      [{ slot, value: { capacity: 5n * GiB, maximumVolumeSize: 2n * GiB } }],
      [],
    );
    assert.equal(actions.length, 1);
    const [action] = actions;
    assert.equal(action!.type, 'create');
    assert.deepEqual(action!.object, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIStorageCapacity',
      metadata: {
        generateName: 'csisc-',
        namespace: 'kube-system',
        labels: { [LABEL_DRIVER_NAME]: D, [LABEL_MANAGED_BY]: 'external-provisioner-a' },
        ownerReferences: [
          { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', name: 'fast', uid: 'uid-fast' },
        ],
      },
      storageClassName: 'fast',
      nodeTopology: { matchLabels: { [KEY]: 'a' } },
      capacity: '5Gi',
      maximumVolumeSize: '2Gi',
    });
  });

  it('writes nothing when the driver answers the same bytes, however they are spelled', function () {
    const stored = published(nodeA, slot, '5368709120');
    assert.deepEqual(planCapacity(nodeA, [{ slot, value: { capacity: 5n * GiB } }], [stored]), []);
  });

  it('updates the value when it changed, and keeps the object when GetCapacity failed', function () {
    const stored = published(nodeA, slot, '5Gi');
    const [update] = planCapacity(nodeA, [{ slot, value: { capacity: 4n * GiB } }], [stored]);
    assert.equal(update?.type, 'update');
    assert.equal(update?.object.capacity, '4Gi');
    assert.equal(update?.object.metadata.name, 'csisc-1');
    assert.deepEqual(planCapacity(nodeA, [{ slot, value: undefined }], [stored]), []);
  });

  it('deletes objects no slot wants: class or node gone, duplicates, a class re-created under its name', function () {
    const stored = published(nodeA, slot, '5Gi', 'csisc-1');
    const duplicate = published(nodeA, slot, '5Gi', 'csisc-2');
    const otherNode = published(nodeA, { ...slot, segment: { [KEY]: 'b' } }, '5Gi', 'csisc-3');
    const recreated = cls('fast', D, { metadata: { name: 'fast', uid: 'uid-new' } });
    const actions = planCapacity(
      nodeA,
      [{ slot, value: { capacity: 5n * GiB } }],
      [duplicate, otherNode, stored],
    );
    assert.deepEqual(
      actions.map((a) => [a.type, a.object.metadata.name]),
      [
        ['delete', 'csisc-2'],
        ['delete', 'csisc-3'],
      ],
    );
    const afterRecreate = planCapacity(
      nodeA,
      [{ slot: { ...slot, storageClass: recreated }, value: { capacity: 5n * GiB } }],
      [stored],
    );
    assert.deepEqual(
      afterRecreate.map((a) => a.type),
      ['delete', 'create'],
    );
    assert.deepEqual(
      planCapacity(nodeA, [], [stored]).map((a) => a.type),
      ['delete'],
    );
  });

  it('an object someone edited into a selector we never write is replaced', function () {
    const stored = published(nodeA, slot, '5Gi');
    stored.nodeTopology = { matchExpressions: [{ key: KEY, operator: 'In', values: ['a'] }] };
    assert.deepEqual(
      planCapacity(nodeA, [{ slot, value: { capacity: 5n * GiB } }], [stored]).map((a) => a.type),
      ['delete', 'create'],
    );
  });
});
