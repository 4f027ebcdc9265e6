// The provisioner's decisions about failures and clean-up, pure: what a failed plan or
// CreateVolume means for the claim (drop its selected node, wait long, or retry), which plan a
// clean-up looks its volume up by, and what still blocks a volume's deletion. controller.ts
// only reads, calls and writes what these say.
import type { PersistentVolumeClaim, VolumeAttachment } from '../api/types.js';
import { toCsiError } from '../csi/errors.js';
import type { ProvisionInputs, ProvisionPlan } from './plan.js';
import {
  PlanError,
  planProvision,
  provisioningState,
  withoutProvisioningMark,
  withoutSelectedNode,
} from './plan.js';

/** After a failure: drop the claim's selected node, retry after the longest back-off, or retry as usual. */
export type NextStep = { type: 'reschedule' } | { type: 'retryAfter'; ms: number } | { type: 'retry' };

/** Planning (or reading its secret) failed: a plan error that another node may not have reschedules. */
export function afterPlanFailure(err: unknown): NextStep {
  return err instanceof PlanError && err.reschedule ? { type: 'reschedule' } : { type: 'retry' };
}

/**
 * CreateVolume failed: out of capacity on the selected node reschedules; a request the driver
 * calls invalid waits the longest back-off (it will not get better by itself); the rest retry.
 */
export function afterCreateFailure(err: unknown, plan: ProvisionPlan, retryMaxMs: number): NextStep {
  switch (provisioningState(err, { selectedNode: plan.selectedNode !== undefined })) {
    case 'reschedule':
      return { type: 'reschedule' };
    case 'infeasible':
      return { type: 'retryAfter', ms: retryMaxMs };
    case 'background':
    case 'finished':
      return { type: 'retry' };
  }
}

/**
 * The claim given back to the scheduler: no selected node, and (nothing was created) no
 * in-flight record or its finalizer, so deleting the claim finishes at once. Undefined: no change.
 */
export function rescheduled(claim: PersistentVolumeClaim): PersistentVolumeClaim | undefined {
  const unselected = withoutSelectedNode(claim);
  return withoutProvisioningMark(unselected ?? claim) ?? unselected;
}

/**
 * The plan a clean-up finds its volume by: the claim's own, or, when the topology that applied
 * is gone (node deleted, selection dropped), the same request without topology: the name decides.
 */
export function planCleanup(inputs: ProvisionInputs): ProvisionPlan {
  try {
    return planProvision(inputs);
  } catch {
    return planProvision({ ...inputs, capabilities: { ...inputs.capabilities, topology: false } });
  }
}

/** A failed CreateVolume during clean-up: a final answer means the driver holds no volume by that name. */
export function nothingToCleanUp(err: unknown): boolean {
  return provisioningState(err, { selectedNode: false }) !== 'background';
}

/** Why the volume `name` may not be deleted yet, or undefined. */
export function deletionBlocker(name: string, attachments: readonly VolumeAttachment[]): string | undefined {
  const [attachment] = attachments;
  return attachment
    ? `persistentvolume ${name} is still attached to node ${attachment.spec.nodeName}`
    : undefined;
}

/** The message of an error as events and logs show it. */
export function messageOf(err: unknown): string {
  if (err instanceof PlanError) return err.message;
  if (err instanceof Error && err.name === 'CsiError') return toCsiError(err).message;
  return err instanceof Error ? err.message : String(err);
}
