// The kinds berth serves: API group/version, REST resource name, scope and kubectl short names.
// Storage kinds are fully modelled and validated; the "companion" kinds that storage manifests
// travel with (ConfigMap, Service, Deployment, ...) are stored with metadata validation only.

export interface KindInfo {
  readonly group: string; // '' for core
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** true when the kind has a status subresource (spec and status are written separately). */
  readonly hasStatus: boolean;
  /** true for kinds berth models and validates in full. */
  readonly modelled: boolean;
}

function kind(
  group: string,
  version: string,
  kindName: string,
  plural: string,
  namespaced: boolean,
  shortNames: string[] = [],
  hasStatus = false,
  modelled = true,
): KindInfo {
  return {
    group,
    version,
    kind: kindName,
    plural,
    singular: kindName.toLowerCase(),
    namespaced,
    shortNames,
    hasStatus,
    modelled,
  };
}

export const kinds: readonly KindInfo[] = [
  kind('', 'v1', 'PersistentVolume', 'persistentvolumes', false, ['pv'], true),
  kind('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, ['pvc'], true),
  kind('', 'v1', 'Pod', 'pods', true, ['po'], true),
  kind('', 'v1', 'Node', 'nodes', false, ['no'], true),
  kind('', 'v1', 'Namespace', 'namespaces', false, ['ns'], true),
  kind('', 'v1', 'Secret', 'secrets', true),
  kind('', 'v1', 'Event', 'events', true, ['ev']),
  kind('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, ['sc']),
  kind('storage.k8s.io', 'v1', 'VolumeAttachment', 'volumeattachments', false, ['va'], true),
  kind('storage.k8s.io', 'v1', 'CSIDriver', 'csidrivers', false, ['csidriver']),
  kind('storage.k8s.io', 'v1', 'CSINode', 'csinodes', false, ['csinode']),
  kind('storage.k8s.io', 'v1', 'CSIStorageCapacity', 'csistoragecapacities', true),
  kind('apps', 'v1', 'StatefulSet', 'statefulsets', true, ['sts'], true),
  kind('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  kind('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshotClass', 'volumesnapshotclasses', false, [
    'vsclass',
    'vsclasses',
  ]),
  kind('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshot', 'volumesnapshots', true, ['vs'], true),
  kind(
    'snapshot.storage.k8s.io',
    'v1',
    'VolumeSnapshotContent',
    'volumesnapshotcontents',
    false,
    ['vsc', 'vscs'],
    true,
  ),
  // companions: stored, listed and watched, validated for metadata only
  kind('', 'v1', 'ConfigMap', 'configmaps', true, ['cm'], false, false),
  kind('', 'v1', 'Service', 'services', true, ['svc'], true, false),
  kind('', 'v1', 'ServiceAccount', 'serviceaccounts', true, ['sa'], false, false),
  kind('apps', 'v1', 'Deployment', 'deployments', true, ['deploy'], true, false),
  kind('apps', 'v1', 'DaemonSet', 'daemonsets', true, ['ds'], true, false),
  kind('apps', 'v1', 'ReplicaSet', 'replicasets', true, ['rs'], true, false),
  kind('batch', 'v1', 'Job', 'jobs', true, [], true, false),
  // what a CSI driver's deployment ships with (deploy/kubernetes): its service accounts' rights
  kind('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false, [], false, false),
  kind(
    'rbac.authorization.k8s.io',
    'v1',
    'ClusterRoleBinding',
    'clusterrolebindings',
    false,
    [],
    false,
    false,
  ),
  kind('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true, [], false, false),
  kind('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true, [], false, false),
];

export function apiVersionOf(info: KindInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

const byApiVersionKind = new Map(kinds.map((k) => [`${apiVersionOf(k)}/${k.kind}`, k]));
const byResourceName = new Map<string, KindInfo>();
for (const k of kinds) {
  for (const name of [k.plural, k.singular, k.kind.toLowerCase(), ...k.shortNames])
    byResourceName.set(name, k);
}

export function kindFor(apiVersion: string, kindName: string): KindInfo | undefined {
  return byApiVersionKind.get(`${apiVersion}/${kindName}`);
}

/** Resolves what a user types after `get`/`delete`: plural, singular, short name, or Kind.group. */
export function resolveResource(name: string): KindInfo | undefined {
  const lower = name.toLowerCase();
  const direct = byResourceName.get(lower);
  if (direct) return direct;
  const dot = lower.indexOf('.');
  if (dot < 0) return undefined;
  const candidate = byResourceName.get(lower.slice(0, dot));
  return candidate && candidate.group === lower.slice(dot + 1) ? candidate : undefined;
}

export function kindByGroupPlural(group: string, plural: string): KindInfo | undefined {
  return kinds.find((k) => k.group === group && k.plural === plural);
}

/** The KindInfo of a kind berth serves, by Kind name (unique across groups here). */
export function kindNamed(kindName: string): KindInfo {
  const info = kinds.find((k) => k.kind === kindName);
  if (!info) throw new Error(`berth does not serve kind ${kindName}`);
  return info;
}

/** The kinds controllers use most, by their kubectl short names. */
export const K = {
  pv: kindNamed('PersistentVolume'),
  pvc: kindNamed('PersistentVolumeClaim'),
  pod: kindNamed('Pod'),
  node: kindNamed('Node'),
  namespace: kindNamed('Namespace'),
  secret: kindNamed('Secret'),
  event: kindNamed('Event'),
  sc: kindNamed('StorageClass'),
  va: kindNamed('VolumeAttachment'),
  csidriver: kindNamed('CSIDriver'),
  csinode: kindNamed('CSINode'),
  csicapacity: kindNamed('CSIStorageCapacity'),
  sts: kindNamed('StatefulSet'),
  deploy: kindNamed('Deployment'),
  rs: kindNamed('ReplicaSet'),
  job: kindNamed('Job'),
  lease: kindNamed('Lease'),
  vsclass: kindNamed('VolumeSnapshotClass'),
  vs: kindNamed('VolumeSnapshot'),
  vsc: kindNamed('VolumeSnapshotContent'),
} as const;
