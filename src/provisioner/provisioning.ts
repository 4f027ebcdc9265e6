// Provisioning one claim (CreateVolume, then the PersistentVolume) and cleaning up after a claim
// that no longer wants what a CreateVolume may have made. The decisions (plans, what a failure
// means, the clean-up plan) come from plan.ts and outcomes.ts; this file reads, calls and writes.
import type { KubeObject } from '../api/meta.js';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import type { ReconcileContext, ReconcileResult } from '../machinery/controller.js';
import type { EventType } from '../machinery/events.js';
import { keyOf } from '../machinery/informer.js';
import type { Logger } from '../machinery/logger.js';
import { REASON } from '../volume/annotations.js';
import { REASON_PROVISIONING, REASON_PROVISIONING_CLEANUP_FAILED } from '../volume/provisioning-names.js';
import type { ProvisionerDriver, ProvisionerStore } from './io.js';
import {
  afterCreateFailure,
  afterPlanFailure,
  messageOf,
  type NextStep,
  nothingToCleanUp,
  planCleanup,
  rescheduled,
} from './outcomes.js';
import type { ProvisionPlan } from './plan.js';
import {
  buildVolume,
  hasProvisioningMark,
  planProvision,
  volumeNameFor,
  withProvisioningMark,
  withoutProvisioningMark,
} from './plan.js';
import type { TopologyView } from './topology.js';
import type { ContentSources } from './content-source.js';

/** provision()'s answer when it failed without throwing (it already said why in an event). */
export const FAILED = Symbol('provisioning failed');

/**
 * A CreateVolume still running after this long is reported (Normal Provisioning). external-
 * provisioner records that Event before every call and ProvisioningSucceeded after it; most calls
 * answer well within this, so berth tells of a provisioning only once it is slow or has failed, and
 * then also of its success: two store writes fewer per claim, the same story for the one that waits.
 */
export const PROVISIONING_PATIENCE_MS = 2_000;

export interface ClaimProvisioningDeps {
  driverName: string;
  nodeName: string | undefined;
  identity: string;
  store: ProvisionerStore;
  driver: ProvisionerDriver;
  topology: TopologyView;
  /** How long a request the driver calls invalid waits before it is tried again. */
  retryMaxMs: number;
  /** Volumes this instance created whose PersistentVolume the informer may not show yet. */
  created: Set<string>;
  /** Restore and clone sources (dataSource); absent: data sources are not looked at. */
  sources?: ContentSources;
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
  clock: Clock;
  log: Logger;
}

export class ClaimProvisioning {
  private readonly deps: ClaimProvisioningDeps;
  /** Claims (by uid) whose provisioning an Event has reported as slow or failed: their success is told too. */
  private readonly told = new Set<string>();

  constructor(deps: ClaimProvisioningDeps) {
    this.deps = deps;
  }

  /** Forgets a deleted claim. */
  forget(claim: PersistentVolumeClaim): void {
    this.told.delete(claim.metadata.uid ?? '');
  }

  private tell(claim: PersistentVolumeClaim, type: EventType, reason: string, message: string): void {
    this.told.add(claim.metadata.uid ?? '');
    this.deps.event(claim, type, reason, message);
  }

  /** Provisions the claim; FAILED when it failed in a way that is not retried by throwing. */
  async provision(
    claim: PersistentVolumeClaim,
    storageClass: StorageClass,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | typeof FAILED> {
    const failed = (err: unknown): void =>
      this.tell(
        claim,
        'Warning',
        REASON.provisioningFailed,
        `failed to provision volume with StorageClass "${storageClass.metadata.name ?? ''}": ${messageOf(err)}`,
      );
    let plan: ProvisionPlan;
    let secrets: Record<string, string>;
    try {
      const inputs = await this.planInputs(claim, storageClass, ctx.signal);
      plan = planProvision(inputs);
      const source = await this.deps.sources?.resolve(
        claim,
        storageClass,
        inputs.capabilities,
        plan.requestedBytes,
      );
      if (source) plan.request.volume_content_source = source;
      secrets = await this.deps.store.readSecret(plan.provisionerSecretRef);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      failed(err);
      return this.next(afterPlanFailure(err), claim, err);
    }
    const ref = keyOf(claim);
    // Durable before the driver hears of it: a crash from here on is finished or undone later.
    const marked = await this.deps.store.updateClaim(claim, (c) => withProvisioningMark(c, plan.volumeName));
    if (!hasProvisioningMark(marked))
      throw new Error(`could not record the provisioning of ${plan.volumeName}`);
    const slow = this.deps.clock.setTimeout(
      () =>
        this.tell(
          claim,
          'Normal',
          REASON_PROVISIONING,
          `External provisioner is provisioning volume for claim "${ref}"`,
        ),
      PROVISIONING_PATIENCE_MS,
    );
    let created;
    try {
      created = await this.deps.driver.createVolume(plan.request, secrets, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      failed(err);
      const next = afterCreateFailure(err, plan, this.deps.retryMaxMs);
      this.deps.log.warn('CreateVolume failed', {
        claim: ref,
        volume: plan.volumeName,
        next: next.type,
        err: messageOf(err),
      });
      return this.next(next, marked, err);
    } finally {
      slow.cancel();
    }
    const volume = created.volume;
    if (!volume) throw new Error(`CreateVolume of ${plan.volumeName} returned no volume`);
    let pv: PersistentVolume;
    try {
      pv = buildVolume({
        claim,
        storageClass,
        driverName: this.deps.driverName,
        plan,
        volume,
        identity: this.deps.identity,
        now: this.deps.clock.now(),
        ...(this.deps.nodeName !== undefined ? { nodeName: this.deps.nodeName } : {}),
      });
    } catch (err) {
      failed(err);
      // Too small to use: delete it so the next attempt creates it afresh.
      await this.deps.driver.deleteVolume(volume.volume_id, secrets, ctx.signal);
      throw err;
    }
    await this.deps.store.createVolume(pv);
    this.deps.created.add(plan.volumeName);
    await this.deps.sources?.release(claim);
    if (this.told.delete(claim.metadata.uid ?? ''))
      this.deps.event(
        claim,
        'Normal',
        REASON.provisioningSucceeded,
        `Successfully provisioned volume ${plan.volumeName}`,
      );
    this.deps.log.info('provisioned', { claim: ref, volume: plan.volumeName, handle: volume.volume_id });
    // The in-flight record stays: the PV controller's bind write removes it (see decideClaim).
    return;
  }

  /**
   * A claim that no longer wants the volume a CreateVolume may have made (deleted, bound
   * elsewhere): the same CreateVolume finds it (idempotent by name), DeleteVolume removes it.
   */
  async cleanup(
    claim: PersistentVolumeClaim,
    storageClass: StorageClass | undefined,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult> {
    const volumeName = volumeNameFor(claim);
    if (!storageClass) {
      this.deps.event(
        claim,
        'Warning',
        REASON_PROVISIONING_CLEANUP_FAILED,
        `cannot check for volume ${volumeName}: its StorageClass is gone; please delete it manually if it exists`,
      );
      await this.deps.store.updateClaim(claim, withoutProvisioningMark);
      return;
    }
    const inputs = await this.planInputs(claim, storageClass, ctx.signal);
    const plan = planCleanup(inputs);
    // the same request finds the volume: with its source while that can still be named
    const source = await this.deps.sources
      ?.resolve(claim, storageClass, inputs.capabilities, plan.requestedBytes)
      .catch(() => undefined);
    if (source) plan.request.volume_content_source = source;
    const secrets = await this.deps.store.readSecret(plan.provisionerSecretRef);
    let volumeId: string | undefined;
    try {
      volumeId = (await this.deps.driver.createVolume(plan.request, secrets, ctx.signal)).volume?.volume_id;
    } catch (err) {
      if (ctx.signal.aborted || !nothingToCleanUp(err)) throw err;
      this.deps.log.info('nothing to clean up', { volume: volumeName, err: messageOf(err) });
    }
    if (volumeId) {
      try {
        await this.deps.driver.deleteVolume(volumeId, secrets, ctx.signal);
      } catch (err) {
        if (!ctx.signal.aborted) {
          this.deps.event(
            claim,
            'Warning',
            REASON.volumeFailedDelete,
            `failed to delete volume ${volumeName}: ${messageOf(err)}`,
          );
        }
        throw err;
      }
      this.deps.log.info('deleted a volume its claim no longer wants', {
        volume: volumeName,
        handle: volumeId,
      });
    }
    await this.deps.store.updateClaim(claim, withoutProvisioningMark);
    await this.deps.sources?.release(claim);
    return;
  }

  private async planInputs(claim: PersistentVolumeClaim, storageClass: StorageClass, signal: AbortSignal) {
    return {
      claim,
      storageClass,
      driverName: this.deps.driverName,
      capabilities: await this.deps.driver.capabilities(signal),
      topology: this.deps.topology,
    };
  }

  /**
   * Carries out a failure's next step; `err` is rethrown when the step is an ordinary retry.
   * A reschedule gives the claim back to the scheduler: the driver's answer was final, so nothing
   * was created, and the in-flight record and its finalizer go in the same write.
   */
  private async next(
    step: NextStep,
    claim: PersistentVolumeClaim,
    err: unknown,
  ): Promise<ReconcileResult | typeof FAILED> {
    switch (step.type) {
      case 'reschedule':
        await this.deps.store.updateClaim(claim, rescheduled);
        this.deps.log.info('dropped the selected node so the claim can be scheduled elsewhere', {
          claim: keyOf(claim),
        });
        return FAILED;
      case 'retryAfter':
        return { requeueAfterMs: step.ms };
      case 'retry':
        throw err;
    }
  }
}
