// Kubernetes' syncClaim state machine (syncUnboundClaim, syncBoundClaim, protection) as pure
// functions: a claim and a read-only view in, actions out; `now` is passed in. A claim being deleted
// is never bound.
import { cloneJson } from '../api/clone-json.js';
import type { PersistentVolumeClaim, Pod } from '../api/types.js';
import type { Action, Decision } from './actions.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  IN_TREE_REPLACEMENTS,
  ANN_BOUND_BY_CONTROLLER,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  FINALIZER_PVC_PROTECTION,
  LABEL_HOSTNAME,
  NO_PROVISIONER,
  REASON,
} from '../volume/annotations.js';
import type { NodeInfo } from '../volume/match.js';
import { defaultClass } from '../volume/default-class.js';
import { hasFinalizer, withoutFinalizer } from '../api/finalizers.js';
import { isPodTerminated } from '../volume/pods.js';
import { claimClass, claimHasClass, isVolumeBoundToClaim, volumeSatisfyProblem } from '../volume/match.js';
import type { MatchOptions } from '../volume/match.js';
import { closestCandidates } from '../volume/match-explain.js';
import { immediateNodeLocalProblem } from '../volume/node-local.js';

import {
  claimStatusAction,
  claimStatusWithEvent,
  event,
  hasAnnotation,
  NO_CLASS_MESSAGE,
  WFFC_MESSAGE,
  bindActions,
  type BinderView,
} from './decide-common.js';

// syncClaim

export function isDelayBinding(claim: PersistentVolumeClaim, view: BinderView): boolean {
  const className = claimClass(claim);
  if (className === '') return false;
  return view.storageClass(className)?.volumeBindingMode === 'WaitForFirstConsumer';
}

/** A pod uses a claim while it is scheduled and not finished (pvc-protection's rule). */
function podsHoldingClaim(claim: PersistentVolumeClaim, view: BinderView): Pod[] {
  return view
    .podsForClaim(claim.metadata.namespace ?? '', claim.metadata.name ?? '')
    .filter((p) => !!p.spec.nodeName && !isPodTerminated(p));
}

function protectClaimOnDelete(claim: PersistentVolumeClaim, view: BinderView): Action[] {
  if (!hasFinalizer(claim, FINALIZER_PVC_PROTECTION)) return [];
  if (podsHoldingClaim(claim, view).length > 0) return [];
  return [{ type: 'updateClaim', claim: withoutFinalizer(claim, FINALIZER_PVC_PROTECTION) }];
}

export function syncClaim(claim: PersistentVolumeClaim, view: BinderView, now: Date): Decision {
  if (claim.metadata.deletionTimestamp) {
    const release = protectClaimOnDelete(claim, view);
    if (release.length > 0 || !hasAnnotation(claim, ANN_BIND_COMPLETED)) return { actions: release };
  }
  if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) return syncUnboundClaim(claim, view, now);
  return syncBoundClaim(claim, view, now);
}

function selectedNode(claim: PersistentVolumeClaim, view: BinderView): NodeInfo | undefined {
  const name = claim.metadata.annotations?.[ANN_SELECTED_NODE];
  if (!name) return undefined;
  return view.node(name) ?? { name, labels: { [LABEL_HOSTNAME]: name } };
}

function syncUnboundClaim(claim: PersistentVolumeClaim, view: BinderView, now: Date): Decision {
  const wanted = claim.spec.volumeName;
  if (!wanted) return syncClaimWithoutVolumeName(claim, view, now);

  const volume = view.volume(wanted);
  if (!volume) return { actions: claimStatusAction(claim, 'Pending', undefined) };
  if (!volume.spec.claimRef) {
    const problem = volumeSatisfyProblem(volume, claim);
    if (problem) {
      return {
        actions: [
          event(
            claim,
            'Warning',
            REASON.volumeMismatch,
            `Cannot bind to requested volume "${wanted}": ${problem}`,
          ),
          ...claimStatusAction(claim, 'Pending', undefined),
        ],
      };
    }
    return { actions: bindActions(volume, claim, now) };
  }
  if (isVolumeBoundToClaim(volume, claim)) return { actions: bindActions(volume, claim, now) };

  const taken = event(
    claim,
    'Warning',
    REASON.failedBinding,
    `volume "${wanted}" already bound to a different claim.`,
  );
  if (!hasAnnotation(claim, ANN_BOUND_BY_CONTROLLER)) {
    return { actions: [taken, ...claimStatusAction(claim, 'Pending', undefined)] };
  }
  const ref = volume.spec.claimRef;
  return {
    actions: [taken],
    error: `invalid binding of claim "${claim.metadata.namespace ?? ''}/${claim.metadata.name ?? ''}" to volume "${wanted}": volume already claimed by "${ref.namespace ?? ''}/${ref.name ?? ''}"`,
  };
}

function syncClaimWithoutVolumeName(claim: PersistentVolumeClaim, view: BinderView, now: Date): Decision {
  const delayBinding = isDelayBinding(claim, view);
  const node = delayBinding ? selectedNode(claim, view) : undefined;
  const options: MatchOptions = { delayBinding, ...(node ? { node } : {}) };
  const volume = view.findBestMatch(claim, options);
  if (volume) return { actions: bindActions(volume, claim, now) };

  if (!claimHasClass(claim)) {
    const fallback = defaultClass(view.storageClasses());
    if (fallback?.metadata.name) {
      // Retroactive default class: the next sync matches and provisions with it.
      const next = cloneJson(claim);
      next.spec.storageClassName = fallback.metadata.name;
      return { actions: [{ type: 'updateClaim', claim: next }] };
    }
  }
  const className = claimClass(claim);
  if (delayBinding && !node) {
    return {
      actions: [waitForConsumerEvent(claim, view), ...claimStatusAction(claim, 'Pending', undefined)],
    };
  }
  const candidates = () => closestCandidates(view.allVolumes(), claim, options);
  if (className !== '') return provisionDecision(claim, className, view, candidates, now);
  return {
    actions: [
      event(claim, 'Normal', REASON.failedBinding, NO_CLASS_MESSAGE + candidates()),
      ...claimStatusAction(claim, 'Pending', undefined),
    ],
  };
}

function waitForConsumerEvent(claim: PersistentVolumeClaim, view: BinderView): Action {
  const unscheduled = view
    .podsForClaim(claim.metadata.namespace ?? '', claim.metadata.name ?? '')
    .filter((p) => !isPodTerminated(p) && !p.spec.nodeName);
  if (unscheduled.length === 0) return event(claim, 'Normal', REASON.waitForFirstConsumer, WFFC_MESSAGE);
  if (unscheduled.length > 1)
    return event(
      claim,
      'Normal',
      REASON.waitForPodScheduled,
      `waiting for pods ${unscheduled.map((p) => p.metadata.name ?? '').join(',')} to be scheduled`,
    );
  const [pod] = unscheduled as [Pod];
  // Upstream's words, then (berth's addition) why the scheduler has not placed the pod yet
  // ("not enough free storage", ...), so that describing the claim alone explains it.
  const why = unschedulableMessage(pod);
  const message = `waiting for pod ${pod.metadata.name ?? ''} to be scheduled${why ? `: ${why}` : ''}`;
  return event(claim, 'Normal', REASON.waitForPodScheduled, message);
}

/** The scheduler's message on a pod it could not place (PodScheduled False, Unschedulable). */
function unschedulableMessage(pod: Pod): string | undefined {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable'
    ? scheduled.message
    : undefined;
}

/**
 * How long a claim waits for its provisioner before an Event says so. Kubernetes records
 * ExternalProvisioning at the hand-off; most volumes are made well within this, so recording it
 * only for a claim still waiting saves a store write per claim and tells the same story.
 */
export const EXTERNAL_PROVISIONING_PATIENCE_MS = 5_000;

/**
 * Hands the claim to its class's external provisioner (Kubernetes' provisionClaim, external path),
 * and says it is waiting for it once it has waited EXTERNAL_PROVISIONING_PATIENCE_MS.
 */
function provisionDecision(
  claim: PersistentVolumeClaim,
  className: string,
  view: BinderView,
  candidates: () => string,
  now: Date,
): Decision {
  const blocked = provisionBlocked(claim, className, view, candidates);
  if (blocked) return { actions: blocked };
  const storageClass = view.storageClass(className);
  const provisioner = storageClass?.provisioner ?? '';
  const unsuitable = storageClass ? immediateNodeLocalProblem(storageClass) : undefined;
  const handOff = [
    ...(unsuitable ? [event(claim, 'Warning', REASON.unsuitableBindingMode, unsuitable)] : []),
    ...handOffAction(claim, provisioner),
  ];
  const created = Date.parse(claim.metadata.creationTimestamp ?? '');
  const waitedMs = Number.isNaN(created) ? Infinity : now.getTime() - created;
  if (waitedMs < EXTERNAL_PROVISIONING_PATIENCE_MS) {
    // timestamps have whole seconds: look again just after the patience has surely run out
    return { actions: handOff, requeueAfterMs: EXTERNAL_PROVISIONING_PATIENCE_MS + 1000 - waitedMs };
  }
  return {
    actions: [
      ...handOff,
      event(
        claim,
        'Normal',
        REASON.externalProvisioning,
        `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      ),
    ],
  };
}

/** Both provisioner annotations on the claim (one write), unless it has them. */
function handOffAction(claim: PersistentVolumeClaim, provisioner: string): Action[] {
  const annotations = claim.metadata.annotations ?? {};
  if (
    annotations[ANN_STORAGE_PROVISIONER] === provisioner &&
    annotations[ANN_BETA_STORAGE_PROVISIONER] === provisioner
  )
    return [];
  const next = cloneJson(claim);
  next.metadata.annotations = {
    ...next.metadata.annotations,
    [ANN_BETA_STORAGE_PROVISIONER]: provisioner,
    [ANN_STORAGE_PROVISIONER]: provisioner,
  };
  return [{ type: 'updateClaim', claim: next }];
}

/**
 * What says why the class cannot hand the claim to an external provisioner; undefined when it can.
 * A class that only binds volumes made by hand names the closest volumes and why they do not fit.
 */
function provisionBlocked(
  claim: PersistentVolumeClaim,
  className: string,
  view: BinderView,
  candidates: () => string,
): Action[] | undefined {
  const storageClass = view.storageClass(className);
  if (!storageClass) {
    return [
      event(
        claim,
        'Warning',
        REASON.provisioningFailed,
        `storageclass.storage.k8s.io "${className}" not found`,
      ),
    ];
  }
  const provisioner = storageClass.provisioner;
  if (provisioner === NO_PROVISIONER || provisioner.startsWith('kubernetes.io/')) {
    // berth has no in-tree provisioners: such classes bind only to volumes made by hand.
    const replacement = IN_TREE_REPLACEMENTS[provisioner];
    const hint = replacement
      ? ` (berth serves these volumes with the CSI driver ${replacement.driver}: use a StorageClass with that provisioner, see ${replacement.example})`
      : '';
    return [
      event(
        claim,
        'Warning',
        REASON.provisioningFailed,
        `no volume plugin matched name: ${provisioner}${hint}${candidates()}`,
      ),
    ];
  }
  if (claim.spec.selector) {
    return [event(claim, 'Warning', REASON.provisioningFailed, 'claim Selector is not supported')];
  }
  return undefined;
}

function syncBoundClaim(claim: PersistentVolumeClaim, view: BinderView, now: Date): Decision {
  const volumeName = claim.spec.volumeName;
  if (!volumeName) {
    return {
      actions: claimStatusWithEvent(
        claim,
        'Lost',
        undefined,
        'Warning',
        REASON.claimLost,
        'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
      ),
    };
  }
  const volume = view.volume(volumeName);
  if (!volume) {
    return {
      actions: claimStatusWithEvent(
        claim,
        'Lost',
        undefined,
        'Warning',
        REASON.claimLost,
        'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
      ),
    };
  }
  const ref = volume.spec.claimRef;
  // An empty claimRef cannot be told apart from "not yet observed": bind again.
  if (!ref || ref.uid === claim.metadata.uid) return { actions: bindActions(volume, claim, now) };
  return {
    actions: claimStatusWithEvent(
      claim,
      'Lost',
      undefined,
      'Warning',
      REASON.claimMisbound,
      'Two claims are bound to the same volume, this one is bound incorrectly',
    ),
  };
}
