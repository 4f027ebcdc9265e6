// Storage capacity publishing, decided (external-provisioner's --enable-capacity): one
// CSIStorageCapacity per (StorageClass of the driver, topology segment), holding what the
// driver's GetCapacity answered for that class there. Pure: the GetCapacity answers, the classes,
// the topology and the objects already published come in; the writes that make the published
// objects match come out, and none when nothing changed.
import type { CSIStorageCapacity, StorageClass } from '../api/types.js';
import type { GetCapacityRequest, PartialMessage } from '../csi/types.js';
import { quantityFromBytes, tryStorageBytes } from '../api/quantity.js';
import { driverParameters } from './create-request.js';
import { clusterSegments, nodeSegment, type TopologyView } from './topology.js';

/** Labels upstream puts on the objects it manages: which driver, and which provisioner instance. */
export const LABEL_DRIVER_NAME = 'csi.storage.k8s.io/drivername';
export const LABEL_MANAGED_BY = 'csi.storage.k8s.io/managed-by';
export const MANAGED_BY = 'external-provisioner';
const GENERATE_NAME = 'csisc-';
const LABEL_VALUE_MAX = 63;

export type Segment = Record<string, string>;

/** One object to keep up to date: the capacity of `storageClass` in `segment` ({} = every node). */
export interface CapacitySlot {
  storageClass: StorageClass;
  segment: Segment;
}

/** What GetCapacity answered for a slot, in bytes; undefined when the call failed. */
export interface CapacityValue {
  capacity: bigint;
  maximumVolumeSize?: bigint;
}

export interface PublisherIdentity {
  driverName: string;
  /** Node-deployment mode: this instance publishes for its own node's segment only. */
  nodeName?: string;
  /** Where the objects live (the provisioner's namespace upstream). */
  namespace: string;
}

export type CapacityAction =
  | { type: 'create'; object: CSIStorageCapacity }
  | { type: 'update'; object: CSIStorageCapacity }
  | { type: 'delete'; object: CSIStorageCapacity };

/**
 * The managed-by label of an instance: upstream appends the node name in node-deployment mode,
 * shortened (with a hash) to fit a label value.
 */
export function managedBy(identity: PublisherIdentity): string {
  if (identity.nodeName === undefined) return MANAGED_BY;
  const full = `${MANAGED_BY}-${identity.nodeName}`;
  if (full.length <= LABEL_VALUE_MAX) return full;
  let hash = 0x811c9dc5;
  for (const ch of full) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const suffix = hash.toString(16).padStart(8, '0');
  return `${full.slice(0, LABEL_VALUE_MAX - suffix.length - 1)}-${suffix}`;
}

/** The label selector (store syntax) of the objects one instance manages. */
export function managedSelector(identity: PublisherIdentity): string {
  return `${LABEL_DRIVER_NAME}=${identity.driverName},${LABEL_MANAGED_BY}=${managedBy(identity)}`;
}

/**
 * Every (class, segment) pair to publish: the driver's classes not being deleted, times the
 * segments of the nodes the driver runs on (only this node's in node-deployment mode). A driver
 * without topology publishes one segment that every node sees, and only in controller mode.
 */
export function capacitySlots(
  identity: PublisherIdentity,
  classes: readonly StorageClass[],
  view: TopologyView,
): CapacitySlot[] {
  const ours = classes.filter(
    (c) => c.provisioner === identity.driverName && !c.metadata.deletionTimestamp && c.metadata.uid,
  );
  let segments: Segment[];
  if (identity.nodeName !== undefined) {
    const own = nodeSegment(identity.driverName, identity.nodeName, view);
    segments = own && Object.keys(own).length > 0 ? [own] : [];
  } else {
    segments = clusterSegments(identity.driverName, view);
    if (segments.length === 0 && !anyNodeHasTopology(identity.driverName, view)) segments = [{}];
  }
  return ours.flatMap((storageClass) => segments.map((segment) => ({ storageClass, segment })));
}

function anyNodeHasTopology(driverName: string, view: TopologyView): boolean {
  return view
    .csiNodes()
    .some((n) => n.spec.drivers.some((d) => d.name === driverName && (d.topologyKeys ?? []).length > 0));
}

/** The GetCapacity call of a slot; undefined when the class's parameters are not valid for a driver. */
export function capacityRequest(slot: CapacitySlot): PartialMessage<GetCapacityRequest> | undefined {
  let parameters: Record<string, string>;
  try {
    parameters = driverParameters(slot.storageClass.parameters ?? {});
  } catch {
    return undefined;
  }
  return {
    parameters,
    accessible_topology: Object.keys(slot.segment).length > 0 ? { segments: { ...slot.segment } } : null,
  };
}

export function slotKey(slot: CapacitySlot): string {
  return `${slot.storageClass.metadata.name ?? ''}|${canonicalSegment(slot.segment)}`;
}

function canonicalSegment(segment: Segment): string {
  return JSON.stringify(
    Object.keys(segment)
      .sort()
      .map((k) => [k, segment[k]]),
  );
}

/** The segment an object was published for, or undefined when its selector is not one we write. */
function segmentOf(object: CSIStorageCapacity): Segment | undefined {
  const topology = object.nodeTopology;
  if (!topology || (topology.matchExpressions ?? []).length > 0) return undefined;
  return topology.matchLabels ?? {};
}

function objectSlotKey(object: CSIStorageCapacity): string | undefined {
  const segment = segmentOf(object);
  return segment && `${object.storageClassName}|${canonicalSegment(segment)}`;
}

function ownedByClass(object: CSIStorageCapacity, storageClass: StorageClass): boolean {
  return (object.metadata.ownerReferences ?? []).some(
    (ref) => ref.kind === 'StorageClass' && ref.uid === storageClass.metadata.uid,
  );
}

function sameBytes(stored: unknown, wanted: bigint | undefined): boolean {
  if (wanted === undefined) return stored === undefined;
  return tryStorageBytes(stored) === wanted;
}

function withValue(object: CSIStorageCapacity, value: CapacityValue): CSIStorageCapacity {
  const next: CSIStorageCapacity = { ...object, capacity: quantityFromBytes(value.capacity).toString() };
  if (value.maximumVolumeSize !== undefined)
    next.maximumVolumeSize = quantityFromBytes(value.maximumVolumeSize).toString();
  else delete next.maximumVolumeSize;
  return next;
}

function newObject(
  identity: PublisherIdentity,
  slot: CapacitySlot,
  value: CapacityValue,
): CSIStorageCapacity {
  const className = slot.storageClass.metadata.name ?? '';
  return withValue(
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIStorageCapacity',
      metadata: {
        generateName: GENERATE_NAME,
        namespace: identity.namespace,
        labels: { [LABEL_DRIVER_NAME]: identity.driverName, [LABEL_MANAGED_BY]: managedBy(identity) },
        // deleting the class deletes what was published for it, even with no provisioner running
        ownerReferences: [
          {
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            name: className,
            uid: slot.storageClass.metadata.uid ?? '',
          },
        ],
      },
      storageClassName: className,
      nodeTopology: { matchLabels: { ...slot.segment } },
    },
    value,
  );
}

/**
 * The writes that make `existing` (the objects this instance manages) match the slots: a new
 * object per slot without one, an update where the driver's answer changed, a delete for each
 * object no slot wants (class or node gone, a duplicate, a class re-created under the same name).
 * A slot whose GetCapacity failed keeps its object as it is.
 */
export function planCapacity(
  identity: PublisherIdentity,
  slots: ReadonlyArray<{ slot: CapacitySlot; value: CapacityValue | undefined }>,
  existing: readonly CSIStorageCapacity[],
): CapacityAction[] {
  const actions: CapacityAction[] = [];
  const wanted = new Map(slots.map((s) => [slotKey(s.slot), s]));
  const kept = new Map<string, CSIStorageCapacity>();
  const sorted = [...existing].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  for (const object of sorted) {
    const key = objectSlotKey(object);
    const slot = key === undefined ? undefined : wanted.get(key);
    if (key === undefined || !slot || kept.has(key) || !ownedByClass(object, slot.slot.storageClass)) {
      actions.push({ type: 'delete', object });
      continue;
    }
    kept.set(key, object);
  }
  for (const [key, { slot, value }] of wanted) {
    if (!value) continue;
    const object = kept.get(key);
    if (!object) {
      actions.push({ type: 'create', object: newObject(identity, slot, value) });
    } else if (
      !sameBytes(object.capacity, value.capacity) ||
      !sameBytes(object.maximumVolumeSize, value.maximumVolumeSize)
    ) {
      actions.push({ type: 'update', object: withValue(object, value) });
    }
  }
  return actions;
}
