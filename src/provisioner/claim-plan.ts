// The provisioner's claim decisions, free of IO: the volume name, whose claim it is, whether to
// provision now, and the in-flight record and selected-node writes.
import { isDeepStrictEqual } from 'node:util';
import type { PersistentVolumeClaim, StorageClass } from '../api/types.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
} from '../volume/annotations.js';
import { claimClass } from '../volume/match.js';
import {
  ANN_PROVISIONING,
  FINALIZER_PROVISIONING,
  VOLUME_NAME_PREFIX,
} from '../volume/provisioning-names.js';
import { hasFinalizer, withFinalizer, withoutFinalizer } from '../api/finalizers.js';

/** The volume (and backend volume) name for a claim: "pvc-<uid>". */
export function volumeNameFor(claim: PersistentVolumeClaim): string {
  return `${VOLUME_NAME_PREFIX}-${claim.metadata.uid ?? ''}`;
}

export function claimProvisioner(claim: PersistentVolumeClaim): string | undefined {
  const annotations = claim.metadata.annotations ?? {};
  return annotations[ANN_STORAGE_PROVISIONER] ?? annotations[ANN_BETA_STORAGE_PROVISIONER];
}

export function selectedNodeOf(claim: PersistentVolumeClaim): string | undefined {
  const node = claim.metadata.annotations?.[ANN_SELECTED_NODE];
  return node === undefined || node === '' ? undefined : node;
}

/** True while the claim records a CreateVolume that may have started. */
export function hasProvisioningMark(claim: PersistentVolumeClaim): boolean {
  return (
    claim.metadata.annotations?.[ANN_PROVISIONING] !== undefined ||
    hasFinalizer(claim, FINALIZER_PROVISIONING)
  );
}

export type ClaimAction =
  | { type: 'skip'; reason: string }
  /** The class does not exist (yet): retry later. */
  | { type: 'waitForClass'; className: string }
  | { type: 'provision'; storageClass: StorageClass }
  /** The volume exists; drop the in-flight record. */
  | { type: 'clearMark' }
  /** The claim no longer wants the volume a CreateVolume may have made: delete it, then drop the record. */
  | { type: 'cleanup'; storageClass: StorageClass | undefined };

export interface ClaimFacts {
  driverName: string;
  /** Node-deployment mode: only claims selected onto this node are ours. */
  nodeName?: string;
  storageClass: StorageClass | undefined;
  /** A PersistentVolume named volumeNameFor(claim) exists (or this instance just created it). */
  volumeExists: boolean;
}

/** shouldProvision, plus what to do about a claim that carries an in-flight record. */
export function decideClaim(claim: PersistentVolumeClaim, facts: ClaimFacts): ClaimAction {
  const marked = hasProvisioningMark(claim);
  const selected = selectedNodeOf(claim);
  if (facts.nodeName !== undefined && selected !== facts.nodeName) {
    return { type: 'skip', reason: 'the claim is not selected onto this node' };
  }
  if (facts.volumeExists) {
    if (!marked) return { type: 'skip', reason: 'its volume already exists' };
    // berth's PV controller clears the record in its bind write; a claim bound (or going) without
    // that, as under another binder, gets it cleared here.
    const settled = claim.spec.volumeName !== undefined && claim.spec.volumeName !== '';
    return settled || claim.metadata.deletionTimestamp
      ? { type: 'clearMark' }
      : { type: 'skip', reason: 'its volume exists; the bind clears the in-flight record' };
  }
  const cleanup = (reason: string): ClaimAction =>
    marked ? { type: 'cleanup', storageClass: facts.storageClass } : { type: 'skip', reason };
  if (claim.metadata.deletionTimestamp) return cleanup('the claim is being deleted');
  if (claim.spec.volumeName) return cleanup('the claim already names a volume');
  if (claimProvisioner(claim) !== facts.driverName) return cleanup('the claim is for another provisioner');
  const className = claimClass(claim);
  const storageClass = facts.storageClass;
  if (!storageClass) return { type: 'waitForClass', className };
  if (storageClass.provisioner !== facts.driverName) return cleanup('the class is for another provisioner');
  if (storageClass.volumeBindingMode === 'WaitForFirstConsumer' && selected === undefined) {
    return { type: 'skip', reason: 'waiting for a node to be selected' };
  }
  return { type: 'provision', storageClass };
}

/**
 * Whether an update of a claim can change what the provisioner does. Status changes and the
 * provisioner's own in-flight record do not: re-running on them would defeat the back-off.
 * Compared field by field (no serialising): every claim update of every claim comes through here.
 */
export function claimChangeMatters(before: PersistentVolumeClaim, after: PersistentVolumeClaim): boolean {
  if (before === after) return true; // a resync: look again
  const b = before.metadata;
  const a = after.metadata;
  return (
    b.uid !== a.uid ||
    b.deletionTimestamp !== a.deletionTimestamp ||
    !isDeepStrictEqual(before.spec, after.spec) ||
    !sameEntriesExcept(b.annotations, a.annotations, ANN_PROVISIONING) ||
    !sameItemsExcept(b.finalizers, a.finalizers, FINALIZER_PROVISIONING)
  );
}

function sameEntriesExcept(
  x: Record<string, string> | undefined,
  y: Record<string, string> | undefined,
  ignored: string,
): boolean {
  const xs = Object.keys(x ?? {}).filter((k) => k !== ignored);
  const ys = Object.keys(y ?? {}).filter((k) => k !== ignored);
  return xs.length === ys.length && xs.every((k) => y?.[k] === x?.[k]);
}

/** The same items in the same order, `ignored` left out (finalizer order is part of the object). */
function sameItemsExcept(x: string[] | undefined, y: string[] | undefined, ignored: string): boolean {
  const xs = (x ?? []).filter((f) => f !== ignored);
  const ys = (y ?? []).filter((f) => f !== ignored);
  return xs.length === ys.length && xs.every((f, i) => f === ys[i]);
}

/** A copy of the claim with its annotations changed by `edit`: a new metadata, the rest shared. */
function withAnnotations(
  claim: PersistentVolumeClaim,
  edit: (annotations: Record<string, string>) => void,
): PersistentVolumeClaim {
  const annotations = { ...claim.metadata.annotations };
  edit(annotations);
  return { ...claim, metadata: { ...claim.metadata, annotations } };
}

/** The claim with the in-flight record added, or undefined when it already has it. */
export function withProvisioningMark(
  claim: PersistentVolumeClaim,
  volumeName: string,
): PersistentVolumeClaim | undefined {
  if (
    claim.metadata.annotations?.[ANN_PROVISIONING] === volumeName &&
    hasFinalizer(claim, FINALIZER_PROVISIONING)
  )
    return undefined;
  const next = withAnnotations(claim, (annotations) => (annotations[ANN_PROVISIONING] = volumeName));
  return withFinalizer(next, FINALIZER_PROVISIONING);
}

export function withoutProvisioningMark(claim: PersistentVolumeClaim): PersistentVolumeClaim | undefined {
  if (!hasProvisioningMark(claim)) return undefined;
  const next = withAnnotations(claim, (annotations) => delete annotations[ANN_PROVISIONING]);
  return withoutFinalizer(next, FINALIZER_PROVISIONING);
}

/** The claim without its selected node, so the scheduler picks again. */
export function withoutSelectedNode(claim: PersistentVolumeClaim): PersistentVolumeClaim | undefined {
  if (claim.metadata.annotations?.[ANN_SELECTED_NODE] === undefined) return undefined;
  return withAnnotations(claim, (annotations) => delete annotations[ANN_SELECTED_NODE]);
}
