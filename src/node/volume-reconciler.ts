// One CSI volume on this node ("vol|<unique name>" keys): compares what the pods want with what
// is staged and published, and stages, publishes, unpublishes, unstages, grows and reports it
// in use as decideVolume says. Pods whose volume changed are handed back for a status write.
// A failed operation waits out its own back-off (kubelet's per-operation exponential back-off,
// keyed by volume, operation and pod), however often the key is woken meanwhile.
import { attachmentName } from '../attach-detach/names.js';
import type { Logger } from '../machinery/index.js';
import type { ItemBackoff } from '../machinery/item-backoff.js';
import { RESIZE_REASON } from '../resizer/decide.js';
import { FLEX_PLUGIN_NAME_PREFIX } from '../volume/flex-names.js';
import type { ActualState } from './actual-state.js';
import { type AttachmentState, decideVolume, isWait, type VolumeAction } from './decide.js';
import type { NodeCache } from './node-cache.js';
import type { NodeObject } from './node-object.js';
import { VolumeOperationError, type VolumeOperations } from './operations.js';
import type { DriverRegistry } from './registration.js';

/** How soon a volume waiting for its attachment or driver is looked at again. */
const WAIT_REQUEUE_MS = 2000;

/** Records an event on each pod of these UIDs. */
export type PodEvents = (
  podUIDs: readonly string[],
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
) => void;

export interface VolumeReconcilerDeps {
  nodeName: string;
  cache: NodeCache;
  actual: ActualState;
  registry: DriverRegistry;
  node: NodeObject;
  operations: VolumeOperations;
  events: PodEvents;
  /** Pods whose volume was just worked on: their status may change. */
  touchedPods(uids: Iterable<string>): void;
  /** Per-operation back-off of failed operations. */
  backoff: ItemBackoff;
  log: Logger;
}

/** kubelet keys pending operations by volume, operation and pod: one failure delays only its own. */
function operationKey(uniqueName: string, action: VolumeAction): string {
  const pod =
    action.kind === 'Publish' ? action.pod.podUID : action.kind === 'Unpublish' ? action.podUID : '';
  return `${uniqueName}|${action.kind}|${pod}`;
}

export class VolumeReconciler {
  private readonly deps: VolumeReconcilerDeps;

  constructor(deps: VolumeReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(uniqueName: string, signal: AbortSignal): Promise<{ requeueAfterMs?: number } | void> {
    if (uniqueName.startsWith(FLEX_PLUGIN_NAME_PREFIX)) return;
    const { cache, actual, registry, node } = this.deps;
    const desired = cache.desiredState().volumes.get(uniqueName);
    const held = actual.get(uniqueName);
    const driver = registry.get(desired?.driver ?? held?.driver ?? '');
    const plan = decideVolume({
      desired,
      actual: held,
      driver,
      attachment: desired ? this.attachmentState(desired.driver, desired.volumeHandle) : undefined,
      reportedInUse: node.isInUse(uniqueName),
    });
    if (plan.length === 0) return;
    this.deps.log.debug('volume plan', { volume: uniqueName, plan: plan.map((a) => a.kind) });
    const touched = new Set<string>([
      ...(desired?.pods.map((p) => p.podUID) ?? []),
      ...(held?.publishes.map((p) => p.podUID) ?? []),
    ]);
    const { backoff } = this.deps;
    try {
      for (const action of plan) {
        if (isWait(action)) {
          this.onWait(action, desired?.pods.map((p) => p.podUID) ?? []);
          return { requeueAfterMs: WAIT_REQUEUE_MS };
        }
        const operation = operationKey(uniqueName, action);
        const waitMs = backoff.remainingMs(operation);
        if (waitMs > 0) return { requeueAfterMs: waitMs };
        try {
          await this.apply(uniqueName, action, signal);
        } catch (err) {
          if (err instanceof VolumeOperationError)
            this.deps.events(err.podUIDs, 'Warning', err.reason, err.message);
          const retryInMs = backoff.failed(operation);
          this.deps.log.warn('volume operation failed; backing off', { operation, err, retryInMs });
          return { requeueAfterMs: retryInMs };
        }
        backoff.forget(operation);
      }
    } finally {
      this.deps.touchedPods(touched);
    }
  }

  private attachmentState(driver: string, handle: string): AttachmentState | undefined {
    const va = this.deps.cache.attachments.get(undefined, attachmentName(handle, driver, this.deps.nodeName));
    if (!va) return undefined;
    const error = va.status?.attachError?.message;
    return {
      attached: va.status?.attached === true,
      ...(va.status?.attachmentMetadata ? { metadata: va.status.attachmentMetadata } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(va.metadata.deletionTimestamp ? { deleting: true } : {}),
    };
  }

  private onWait(action: VolumeAction, podUIDs: string[]): void {
    if (action.kind === 'WaitForAttach' && action.failed)
      this.deps.events(podUIDs, 'Warning', 'FailedAttachVolume', action.message);
    if (action.kind === 'WaitForDriver')
      this.deps.events(
        podUIDs,
        'Warning',
        'FailedMount',
        `MountVolume.MountDevice failed: ${action.message}`,
      );
  }

  private async apply(uniqueName: string, action: VolumeAction, signal: AbortSignal): Promise<void> {
    const { cache, actual, registry, node, operations, events } = this.deps;
    const desired = () => {
      const d = cache.desiredState().volumes.get(uniqueName);
      if (!d) throw new Error(`volume ${uniqueName} is no longer wanted`);
      return d;
    };
    const actualVolume = () => {
      const a = actual.get(uniqueName);
      if (!a) throw new Error(`no record of volume ${uniqueName}`);
      return a;
    };
    const driverFor = (name: string) => {
      const d = registry.get(name);
      if (!d) throw new Error(`driver name ${name} not found in the list of registered CSI drivers`);
      return d;
    };
    switch (action.kind) {
      case 'ReportInUse':
        await node.setInUse(uniqueName, true);
        return;
      case 'ReportNotInUse':
        await node.setInUse(uniqueName, false);
        return;
      case 'Stage': {
        const d = desired();
        await operations.stage(d, driverFor(d.driver), action.publishContext, signal);
        return;
      }
      case 'Publish': {
        const d = desired();
        await operations.publish(d, action.pod, driverFor(d.driver), action.publishContext, signal);
        events(
          [action.pod.podUID],
          'Normal',
          'SuccessfulMountVolume',
          `MountVolume.SetUp succeeded for volume "${d.specName}"`,
        );
        return;
      }
      case 'Unpublish': {
        const a = actualVolume();
        await operations.unpublish(a, action.podUID, action.targetPath, driverFor(a.driver), signal);
        return;
      }
      case 'Unstage': {
        const a = actualVolume();
        await operations.unstage(a, driverFor(a.driver), signal);
        return;
      }
      case 'ExpandOnNode': {
        const d = desired();
        if (await operations.expand(d, driverFor(d.driver), signal)) {
          events(
            d.pods.map((p) => p.podUID),
            'Normal',
            RESIZE_REASON.fsResizeSuccessful,
            `MountVolume.NodeExpandVolume succeeded for volume "${d.specName}" ${this.deps.nodeName}`,
          );
        }
        return;
      }
      case 'WaitForAttach':
      case 'WaitForDriver':
        return;
    }
  }
}
