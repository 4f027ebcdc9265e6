// What scheduling decisions read: nodes, claims, volumes, classes and the CSI objects, behind one
// small interface. The controller answers it from informers; tests answer it from plain arrays.
import type { LabelSelector } from '../api/meta.js';
import type {
  CSIDriver,
  CSINode,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  QuantityValue,
  StorageClass,
} from '../api/types.js';
import { volumeClass } from '../volume/match.js';
import { podClaimNames } from '../volume/pods.js';

/** storage.k8s.io/v1 CSIStorageCapacity: free space a driver reports for a class in a topology segment. */
export interface StorageCapacity {
  metadata: { name?: string; namespace?: string };
  storageClassName: string;
  nodeTopology?: LabelSelector;
  capacity?: QuantityValue;
  maximumVolumeSize?: QuantityValue;
}

export interface SchedulerView {
  nodes(): readonly Node[];
  node(name: string): Node | undefined;
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  /** Every volume of the class, in any phase (matching decides which ones are candidates). */
  volumesOfClass(className: string): readonly PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
  csiNode(nodeName: string): CSINode | undefined;
  csiDriver(name: string): CSIDriver | undefined;
  /** True when some node's CSINode lists the driver, i.e. it is a node-registered CSI driver. */
  isDriverRegistered(driver: string): boolean;
  /** Published capacities, or undefined when capacity is not tracked at all. */
  capacities(): readonly StorageCapacity[] | undefined;
  /** Pods already assigned to the node (for spreading). */
  podCountOnNode(nodeName: string): number;
  /** Pods whose volumes use the claim `namespace/name`. */
  podsUsingClaim(namespace: string, name: string): readonly Pod[];
}

export interface ViewObjects {
  nodes?: readonly Node[];
  claims?: readonly PersistentVolumeClaim[];
  volumes?: readonly PersistentVolume[];
  classes?: readonly StorageClass[];
  csiNodes?: readonly CSINode[];
  csiDrivers?: readonly CSIDriver[];
  capacities?: readonly StorageCapacity[];
  /** node name -> pods on it */
  podCounts?: Readonly<Record<string, number>>;
  /** Other pods (for claims in use). */
  pods?: readonly Pod[];
}

/** A view over fixed lists of objects. */
export function viewOf(objects: ViewObjects): SchedulerView {
  const byName = <T extends { metadata: { name?: string } }>(
    items: readonly T[] | undefined,
  ): Map<string, T> => new Map((items ?? []).map((o) => [o.metadata.name ?? '', o]));
  const nodes = byName(objects.nodes);
  const volumes = byName(objects.volumes);
  const classes = byName(objects.classes);
  const csiNodes = byName(objects.csiNodes);
  const csiDrivers = byName(objects.csiDrivers);
  const claims = new Map(
    (objects.claims ?? []).map((c) => [`${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`, c]),
  );
  const registered = new Set((objects.csiNodes ?? []).flatMap((n) => n.spec.drivers.map((d) => d.name)));
  return {
    nodes: () => [...nodes.values()],
    node: (name) => nodes.get(name),
    claim: (namespace, name) => claims.get(`${namespace}/${name}`),
    volume: (name) => volumes.get(name),
    volumesOfClass: (className) => [...volumes.values()].filter((v) => volumeClass(v) === className),
    storageClass: (name) => classes.get(name),
    csiNode: (name) => csiNodes.get(name),
    csiDriver: (name) => csiDrivers.get(name),
    isDriverRegistered: (driver) => registered.has(driver),
    capacities: () => objects.capacities,
    podCountOnNode: (name) => objects.podCounts?.[name] ?? 0,
    podsUsingClaim: (namespace, name) =>
      (objects.pods ?? []).filter(
        (p) => p.metadata.namespace === namespace && podClaimNames(p).includes(name),
      ),
  };
}
