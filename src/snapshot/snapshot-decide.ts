// The snapshot controller's decisions for one VolumeSnapshot (PURE), after external-snapshotter's
// common controller: binding to a pre-provisioned content, creating the content of a dynamic
// snapshot (from its claim's volume and its class, the driver's default class when none is named),
// copying the content's status, the finalizers, and deletion by the content's deletionPolicy.
import type { PersistentVolume, PersistentVolumeClaim } from '../api/types.js';
import {
  SNAPSHOT_API_VERSION,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
  type VolumeSnapshotStatus,
} from '../api/snapshot-types.js';
import { hasFinalizer } from '../api/finalizers.js';
import {
  ANN_DELETION_SECRET_NAME,
  ANN_DELETION_SECRET_NAMESPACE,
  FINALIZER_PVC_AS_SOURCE,
  FINALIZER_SNAPSHOT_AS_SOURCE,
  FINALIZER_SNAPSHOT_BOUND,
  SNAPSHOTTER_SECRET_NAME,
  SNAPSHOTTER_SECRET_NAMESPACE,
  contentNameFor,
  isDefaultSnapshotClass,
} from '../volume/snapshot-names.js';
import { snapshotStatusFrom } from './status.js';

/** Event reasons, as the snapshot controller records them. */
export const SNAPSHOT_REASON = {
  creating: 'CreatingSnapshot',
  created: 'SnapshotCreated',
  ready: 'SnapshotReady',
  contentCreationFailed: 'SnapshotContentCreationFailed',
  contentMissing: 'SnapshotContentMissing',
  misbound: 'SnapshotMisbound',
  deletePending: 'SnapshotDeletePending',
  failed: 'SnapshotFailed',
} as const;

export interface SnapshotView {
  snapshot: VolumeSnapshot;
  /** The content the snapshot names (static) or its dynamic content ("snapcontent-<uid>"). */
  content: VolumeSnapshotContent | undefined;
  /** The source claim of a dynamic snapshot, and the volume bound to it. */
  claim: PersistentVolumeClaim | undefined;
  volume: PersistentVolume | undefined;
  classes: readonly VolumeSnapshotClass[];
  /** Claims in the snapshot's namespace that are being provisioned from it (Pending). */
  restoring: readonly string[];
}

export type SnapshotAction =
  | { type: 'addFinalizers'; finalizers: string[] }
  | { type: 'removeFinalizers'; finalizers: string[] }
  | { type: 'setClass'; className: string }
  | { type: 'protectClaim' }
  | { type: 'createContent'; content: VolumeSnapshotContent }
  | { type: 'bindContent'; uid: string }
  | { type: 'deleteContent'; content: VolumeSnapshotContent }
  | { type: 'status'; status: VolumeSnapshotStatus }
  | { type: 'event'; eventType: 'Normal' | 'Warning'; reason: string; message: string };

const warn = (reason: string, message: string): SnapshotAction => ({
  type: 'event',
  eventType: 'Warning',
  reason,
  message,
});

/** The name of the content a snapshot binds to (named, or the dynamic one). */
export function contentNameOf(snapshot: VolumeSnapshot): string {
  return (
    snapshot.spec.source.volumeSnapshotContentName ??
    snapshot.status?.boundVolumeSnapshotContentName ??
    contentNameFor(snapshot.metadata.uid ?? '')
  );
}

function keyOf(snapshot: VolumeSnapshot): string {
  return `${snapshot.metadata.namespace ?? ''}/${snapshot.metadata.name ?? ''}`;
}

/** An error status (and its event) unless the same message is already recorded. */
function failure(view: SnapshotView, reason: string, message: string, now: string): SnapshotAction[] {
  const status = view.snapshot.status;
  if (status?.error?.message === message) return [];
  return [
    {
      type: 'status',
      status: { ...status, readyToUse: status?.readyToUse ?? false, error: { message, time: now } },
    },
    warn(reason, message),
  ];
}

function contentPointsAt(content: VolumeSnapshotContent, snapshot: VolumeSnapshot): boolean {
  const ref = content.spec.volumeSnapshotRef;
  return (
    ref.name === snapshot.metadata.name &&
    ref.namespace === snapshot.metadata.namespace &&
    (ref.uid === undefined || ref.uid === '' || ref.uid === snapshot.metadata.uid)
  );
}

/** The class a dynamic snapshot uses, or why there is none. */
export function chooseClass(
  snapshot: VolumeSnapshot,
  driver: string,
  classes: readonly VolumeSnapshotClass[],
): { vsclass: VolumeSnapshotClass } | { error: string } {
  const named = snapshot.spec.volumeSnapshotClassName;
  if (named) {
    const vsclass = classes.find((c) => c.metadata.name === named);
    if (!vsclass) return { error: `volumesnapshotclass.snapshot.storage.k8s.io "${named}" not found` };
    if (vsclass.driver !== driver) {
      return {
        error: `VolumeSnapshotClass ${named} is for driver ${vsclass.driver}; the volume's driver is ${driver}`,
      };
    }
    return { vsclass };
  }
  const defaults = classes.filter((c) => c.driver === driver && isDefaultSnapshotClass(c));
  if (defaults.length === 0) return { error: `cannot find default snapshot class for driver ${driver}` };
  if (defaults.length > 1) return { error: `${defaults.length} default snapshot classes were found` };
  return { vsclass: defaults[0]! };
}

/** The content of a dynamic snapshot: the volume to snapshot and what the class says. */
export function newContent(
  snapshot: VolumeSnapshot,
  volume: PersistentVolume,
  vsclass: VolumeSnapshotClass,
): VolumeSnapshotContent {
  const csi = volume.spec.csi!;
  const secretName = vsclass.parameters?.[SNAPSHOTTER_SECRET_NAME];
  const secretNamespace = vsclass.parameters?.[SNAPSHOTTER_SECRET_NAMESPACE];
  const annotations =
    secretName && secretNamespace
      ? { [ANN_DELETION_SECRET_NAME]: secretName, [ANN_DELETION_SECRET_NAMESPACE]: secretNamespace }
      : undefined;
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: 'VolumeSnapshotContent',
    metadata: { name: contentNameFor(snapshot.metadata.uid ?? ''), ...(annotations ? { annotations } : {}) },
    spec: {
      volumeSnapshotRef: {
        kind: 'VolumeSnapshot',
        apiVersion: SNAPSHOT_API_VERSION,
        namespace: snapshot.metadata.namespace ?? '',
        name: snapshot.metadata.name ?? '',
        uid: snapshot.metadata.uid ?? '',
      },
      deletionPolicy: vsclass.deletionPolicy,
      driver: csi.driver,
      volumeSnapshotClassName: vsclass.metadata.name ?? '',
      source: { volumeHandle: csi.volumeHandle },
      sourceVolumeMode: volume.spec.volumeMode ?? 'Filesystem',
    },
  };
}

/** What a dynamic snapshot without a content needs first, or why it cannot be taken yet. */
function dynamicSteps(view: SnapshotView, now: string): SnapshotAction[] {
  const { snapshot, claim, volume } = view;
  const claimName = snapshot.spec.source.persistentVolumeClaimName ?? '';
  const fail = (message: string) => failure(view, SNAPSHOT_REASON.contentCreationFailed, message, now);
  if (!claim) return fail(`failed to get input parameters to create snapshot: PVC "${claimName}" not found`);
  if (claim.metadata.deletionTimestamp && !hasFinalizer(claim, FINALIZER_PVC_AS_SOURCE))
    return fail(`PVC "${claimName}" is being deleted; no snapshot is taken of it`);
  if (claim.status?.phase !== 'Bound' || !claim.spec.volumeName || !volume)
    return fail(`the PVC ${claimName} is not yet bound to a PV, will not attempt to take a snapshot`);
  if (!volume.spec.csi) return fail(`volume ${volume.metadata.name ?? ''} is not a CSI volume`);
  const chosen = chooseClass(snapshot, volume.spec.csi.driver, view.classes);
  if ('error' in chosen) return fail(chosen.error);
  if (!snapshot.spec.volumeSnapshotClassName)
    return [{ type: 'setClass', className: chosen.vsclass.metadata.name ?? '' }];
  const steps: SnapshotAction[] = [];
  if (!hasFinalizer(claim, FINALIZER_PVC_AS_SOURCE)) steps.push({ type: 'protectClaim' });
  steps.push({ type: 'createContent', content: newContent(snapshot, volume, chosen.vsclass) });
  steps.push({
    type: 'event',
    eventType: 'Normal',
    reason: SNAPSHOT_REASON.creating,
    message: `Waiting for a snapshot ${keyOf(snapshot)} to be created by the CSI driver.`,
  });
  return steps;
}

/** Status copied from the bound content, with the events of its transitions. */
function statusSteps(view: SnapshotView, content: VolumeSnapshotContent): SnapshotAction[] {
  const { snapshot } = view;
  const before = snapshot.status;
  const status = snapshotStatusFrom(content, before);
  if (JSON.stringify(status) === JSON.stringify(before ?? {})) return [];
  const steps: SnapshotAction[] = [{ type: 'status', status }];
  const event = (reason: string, message: string): SnapshotAction => ({
    type: 'event',
    eventType: 'Normal',
    reason,
    message,
  });
  if (status.creationTime && !before?.creationTime)
    steps.push(
      event(
        SNAPSHOT_REASON.created,
        `Snapshot ${keyOf(snapshot)} was successfully created by the CSI driver.`,
      ),
    );
  if (status.readyToUse && !before?.readyToUse)
    steps.push(event(SNAPSHOT_REASON.ready, `Snapshot ${keyOf(snapshot)} is ready to use.`));
  if (status.error && status.error.message !== before?.error?.message)
    steps.push(warn(SNAPSHOT_REASON.failed, status.error.message ?? ''));
  return steps;
}

function deletionSteps(view: SnapshotView): SnapshotAction[] {
  const { snapshot, content } = view;
  const held = [FINALIZER_SNAPSHOT_AS_SOURCE, FINALIZER_SNAPSHOT_BOUND].filter((f) =>
    hasFinalizer(snapshot, f),
  );
  if (held.length === 0) return [];
  if (view.restoring.length > 0) {
    return hasFinalizer(snapshot, FINALIZER_SNAPSHOT_AS_SOURCE)
      ? [
          warn(
            SNAPSHOT_REASON.deletePending,
            `Snapshot is being used to restore a PVC (${[...view.restoring].sort().join(', ')})`,
          ),
        ]
      : [];
  }
  const bound = content && contentPointsAt(content, snapshot) && content.spec.volumeSnapshotRef.uid;
  if (bound && content.spec.deletionPolicy === 'Delete' && !content.metadata.deletionTimestamp) {
    return [{ type: 'deleteContent', content }];
  }
  return [{ type: 'removeFinalizers', finalizers: held }];
}

/** Every step one sync of a snapshot takes, in order. */
export function decideSnapshot(view: SnapshotView, now: string): SnapshotAction[] {
  const { snapshot, content } = view;
  if (snapshot.metadata.deletionTimestamp) return deletionSteps(view);
  const steps: SnapshotAction[] = [];
  const add: string[] = [];
  if (!hasFinalizer(snapshot, FINALIZER_SNAPSHOT_AS_SOURCE)) add.push(FINALIZER_SNAPSHOT_AS_SOURCE);
  const boundToDeletable =
    content && snapshot.status?.boundVolumeSnapshotContentName && content.spec.deletionPolicy === 'Delete';
  if (boundToDeletable && !hasFinalizer(snapshot, FINALIZER_SNAPSHOT_BOUND))
    add.push(FINALIZER_SNAPSHOT_BOUND);
  if (add.length > 0) steps.push({ type: 'addFinalizers', finalizers: add });

  const staticName = snapshot.spec.source.volumeSnapshotContentName;
  if (!content) {
    if (staticName) {
      return [
        ...steps,
        ...failure(
          view,
          SNAPSHOT_REASON.contentMissing,
          `VolumeSnapshotContent ${staticName} is missing`,
          now,
        ),
      ];
    }
    if (snapshot.status?.boundVolumeSnapshotContentName) {
      return [
        ...steps,
        ...failure(
          view,
          SNAPSHOT_REASON.contentMissing,
          `VolumeSnapshotContent ${snapshot.status.boundVolumeSnapshotContentName} is missing`,
          now,
        ),
      ];
    }
    return [...steps, ...dynamicSteps(view, now)];
  }
  if (!contentPointsAt(content, snapshot)) {
    return [
      ...steps,
      ...failure(
        view,
        SNAPSHOT_REASON.misbound,
        `VolumeSnapshotContent ${content.metadata.name ?? ''} is bound to another snapshot (${content.spec.volumeSnapshotRef.namespace ?? ''}/${content.spec.volumeSnapshotRef.name ?? ''})`,
        now,
      ),
    ];
  }
  if (!content.spec.volumeSnapshotRef.uid)
    steps.push({ type: 'bindContent', uid: snapshot.metadata.uid ?? '' });
  return [...steps, ...statusSteps(view, content)];
}
