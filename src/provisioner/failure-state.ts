// What a failed CreateVolume means for the claim (external-provisioner's ProvisioningState). Pure.
import { status, toCsiError, classify } from '../csi/errors.js';
import { PlanError } from '../volume/plan-error.js';

/**
 * external-provisioner's ProvisioningState, plus 'infeasible' (a final InvalidArgument, retried
 * only after the longest back-off).
 * - background: the driver may still be creating it; retry the same request.
 * - finished: it failed; retry with back-off.
 * - reschedule: drop the selected node so the pod can go elsewhere.
 */
const RESOURCE_EXHAUSTED: number = status.RESOURCE_EXHAUSTED;
const INVALID_ARGUMENT: number = status.INVALID_ARGUMENT;

export type ProvisioningState = 'background' | 'finished' | 'reschedule' | 'infeasible';

export function provisioningState(err: unknown, options: { selectedNode: boolean }): ProvisioningState {
  if (err instanceof PlanError) return err.reschedule && options.selectedNode ? 'reschedule' : 'finished';
  const csi = toCsiError(err);
  const code: number = csi.code;
  if (code === RESOURCE_EXHAUSTED && options.selectedNode && !csi.local) return 'reschedule';
  if (classify(err) === 'in-progress') return 'background';
  if (code === INVALID_ARGUMENT) return 'infeasible';
  return 'finished';
}
