// Restore and clone: a claim whose dataSource (or dataSourceRef) names a VolumeSnapshot or another
// claim is provisioned from it (CreateVolume's volume_content_source), under external-provisioner's
// rules: same namespace, the driver's capability, a ready snapshot of this driver, a bound source
// claim of the same class, volume mode and driver, and at least the source's size. The checks are
// pure; ContentSources reads the objects and keeps a cloned claim from going while it is copied.
import { isStatusError } from '../api/errors.js';
import { hasFinalizer, withFinalizer, withoutFinalizer } from '../api/finalizers.js';
import { K } from '../api/kinds.js';
import { tryStorageBytes } from '../api/quantity.js';
import type { VolumeSnapshot, VolumeSnapshotContent } from '../api/snapshot-types.js';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../api/types.js';
import type { PartialMessage, VolumeContentSource } from '../csi/types.js';
import type { ObjectStore } from '../store/types.js';
import { claimDataSource } from '../volume/data-source.js';
import { volumeModeOf } from '../volume/match.js';
import { PlanError } from '../volume/plan-error.js';
import type { DriverCapabilities } from './capabilities.js';

/** On a claim being cloned: it stays until its clones are provisioned (upstream's name). */
export const FINALIZER_CLONING_PROTECTION = 'provisioner.storage.kubernetes.io/cloning-protection';
const ALLOW_VOLUME_MODE_CHANGE = 'snapshot.storage.kubernetes.io/allow-volume-mode-change';

type Source = PartialMessage<VolumeContentSource>;

export interface SnapshotSourceInputs {
  claim: PersistentVolumeClaim;
  storageClass: StorageClass;
  capabilities: DriverCapabilities;
  requestedBytes: bigint;
  snapshot: VolumeSnapshot | undefined;
  content: VolumeSnapshotContent | undefined;
}

export function planSnapshotSource(inputs: SnapshotSourceInputs, name: string): Source {
  const { snapshot, content, storageClass } = inputs;
  if (!inputs.capabilities.snapshots)
    throw new PlanError(
      'the CSI driver does not support restoring snapshots (no CREATE_DELETE_SNAPSHOT capability)',
    );
  if (!snapshot) throw new PlanError(`snapshot ${name} not found`);
  if (snapshot.metadata.deletionTimestamp) throw new PlanError(`snapshot ${name} is currently being deleted`);
  if (snapshot.status?.readyToUse !== true) throw new PlanError(`snapshot ${name} is not Ready`);
  const contentName = snapshot.status.boundVolumeSnapshotContentName;
  if (!contentName) throw new PlanError(`snapshot ${name} not bound`);
  const ref = content?.spec.volumeSnapshotRef;
  if (
    !content ||
    ref?.name !== name ||
    ref.namespace !== snapshot.metadata.namespace ||
    ref.uid !== snapshot.metadata.uid
  )
    throw new PlanError(`snapshot ${name} is not bound to content ${contentName}`);
  if (content.spec.driver !== storageClass.provisioner) {
    throw new PlanError(
      `driver of snapshot ${name} (${content.spec.driver}) is different from the storage class provisioner ${storageClass.provisioner}`,
    );
  }
  const handle = content.status?.snapshotHandle;
  if (!handle) throw new PlanError(`snapshot handle of snapshot ${name} is not available`);
  const restoreBytes = BigInt(content.status?.restoreSize ?? 0);
  if (inputs.requestedBytes < restoreBytes) {
    throw new PlanError(
      `requested volume size ${inputs.requestedBytes} is less than the size ${restoreBytes} for the source snapshot ${name}`,
    );
  }
  const mode = volumeModeOf(inputs.claim.spec);
  const sourceMode = content.spec.sourceVolumeMode;
  if (
    sourceMode &&
    sourceMode !== mode &&
    content.metadata.annotations?.[ALLOW_VOLUME_MODE_CHANGE] !== 'true'
  ) {
    throw new PlanError(
      `requested volume ${inputs.claim.metadata.namespace ?? ''}/${inputs.claim.metadata.name ?? ''} modifies the mode of the source volume but does not have permission to do so. ${ALLOW_VOLUME_MODE_CHANGE} annotation is not present on snapshotcontent ${content.metadata.name ?? ''}`,
    );
  }
  return { snapshot: { snapshot_id: handle } };
}

export interface ClaimSourceInputs {
  claim: PersistentVolumeClaim;
  storageClass: StorageClass;
  capabilities: DriverCapabilities;
  requestedBytes: bigint;
  source: PersistentVolumeClaim | undefined;
  volume: PersistentVolume | undefined;
}

export function planClaimSource(inputs: ClaimSourceInputs, name: string): Source {
  const { claim, source, volume } = inputs;
  const namespace = claim.metadata.namespace ?? '';
  if (!inputs.capabilities.clone)
    throw new PlanError('the CSI driver does not support cloning volumes (no CLONE_VOLUME capability)');
  if (!source) throw new PlanError(`PVC ${name} (namespace "${namespace}") not found`);
  if (source.metadata.deletionTimestamp)
    throw new PlanError(`the PVC ${name} (namespace "${namespace}") is currently being deleted`);
  if (source.status?.phase !== 'Bound') throw new PlanError(`the PVC ${name} not bound`);
  if (!source.spec.volumeName || !volume) throw new PlanError(`volume name is empty in PVC ${name}`);
  const sourceClass = source.spec.storageClassName ?? '';
  const className = claim.spec.storageClassName ?? '';
  if (sourceClass !== className) {
    throw new PlanError(
      `the source PVC and destination PVCs must be in the same storage class for cloning. Source is in ${sourceClass}, but new PVC is in ${className}`,
    );
  }
  const [mode, sourceMode] = [volumeModeOf(claim.spec), volumeModeOf(source.spec)];
  if (mode !== sourceMode) {
    throw new PlanError(
      `the source PVC and destination PVCs must have the same volume mode for cloning. Source is ${sourceMode}, destination is ${mode}`,
    );
  }
  const sourceBytes = tryStorageBytes(source.status.capacity?.['storage']) ?? 0n;
  if (inputs.requestedBytes < sourceBytes) {
    throw new PlanError(
      `error, new PVC request must be greater than or equal in size to the specified PVC data source, requested ${inputs.requestedBytes} but source is ${sourceBytes}`,
    );
  }
  if (volume.spec.claimRef?.uid !== source.metadata.uid)
    throw new PlanError('claim in dataSource not bound or invalid');
  const csi = volume.spec.csi;
  if (!csi || csi.driver !== inputs.storageClass.provisioner) {
    throw new PlanError(
      `the source PV ${volume.metadata.name ?? ''} is not a volume of the provisioner ${inputs.storageClass.provisioner}`,
    );
  }
  return { volume: { volume_id: csi.volumeHandle } };
}

function orUndefined(err: unknown): undefined {
  if (isStatusError(err, 'NotFound')) return undefined;
  throw err;
}

export class ContentSources {
  private readonly store: ObjectStore;

  constructor(store: ObjectStore) {
    this.store = store;
  }

  /**
   * The content source of a claim's CreateVolume (undefined without a data source); throws a
   * PlanError saying why it cannot be used yet. A cloned claim is protected before the copy.
   */
  async resolve(
    claim: PersistentVolumeClaim,
    storageClass: StorageClass,
    capabilities: DriverCapabilities,
    requestedBytes: bigint,
  ): Promise<Source | undefined> {
    const source = claimDataSource(claim);
    if (!source) return undefined;
    const namespace = claim.metadata.namespace ?? '';
    if (source.namespace !== undefined && source.namespace !== namespace) {
      throw new PlanError(
        `data source ${source.namespace}/${source.name} is in another namespace; cross-namespace data sources are not supported`,
      );
    }
    const common = { claim, storageClass, capabilities, requestedBytes };
    if (source.kind === 'VolumeSnapshot') {
      const snapshot = await this.store.get<VolumeSnapshot>(K.vs, namespace, source.name).catch(orUndefined);
      const contentName = snapshot?.status?.boundVolumeSnapshotContentName;
      const content = contentName
        ? await this.store.get<VolumeSnapshotContent>(K.vsc, undefined, contentName).catch(orUndefined)
        : undefined;
      return planSnapshotSource({ ...common, snapshot, content }, source.name);
    }
    if (source.kind === 'PersistentVolumeClaim') {
      const sourceClaim = await this.store
        .get<PersistentVolumeClaim>(K.pvc, namespace, source.name)
        .catch(orUndefined);
      const volumeName = sourceClaim?.spec.volumeName;
      const volume = volumeName
        ? await this.store.get<PersistentVolume>(K.pv, undefined, volumeName).catch(orUndefined)
        : undefined;
      const planned = planClaimSource({ ...common, source: sourceClaim, volume }, source.name);
      if (sourceClaim && !hasFinalizer(sourceClaim, FINALIZER_CLONING_PROTECTION))
        await this.store.update(K.pvc, withFinalizer(sourceClaim, FINALIZER_CLONING_PROTECTION));
      return planned;
    }
    throw new PlanError(
      `data source ${source.apiGroup ? `${source.apiGroup}/` : ''}${(claim.spec['dataSourceRef'] as { kind?: string } | undefined)?.kind ?? 'unknown'} ${source.name} is not supported: only VolumeSnapshot and PersistentVolumeClaim sources are`,
    );
  }

  /** The source claim of a provisioned (or abandoned) clone goes free unless other clones still copy it. */
  async release(claim: PersistentVolumeClaim): Promise<void> {
    const source = claimDataSource(claim);
    if (source?.kind !== 'PersistentVolumeClaim') return;
    const namespace = claim.metadata.namespace ?? '';
    const { items } = await this.store.list<PersistentVolumeClaim>(K.pvc, { namespace });
    const stillCopying = items.some((other) => {
      if (
        other.metadata.uid === claim.metadata.uid ||
        other.status?.phase === 'Bound' ||
        other.spec.volumeName
      )
        return false;
      const s = claimDataSource(other);
      return s?.kind === 'PersistentVolumeClaim' && s.name === source.name;
    });
    if (stillCopying) return;
    const sourceClaim = await this.store
      .get<PersistentVolumeClaim>(K.pvc, namespace, source.name)
      .catch(orUndefined);
    if (sourceClaim && hasFinalizer(sourceClaim, FINALIZER_CLONING_PROTECTION))
      await this.store.update(K.pvc, withoutFinalizer(sourceClaim, FINALIZER_CLONING_PROTECTION));
  }
}
