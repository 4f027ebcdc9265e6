// The provisioner's IO, each step retried the way it needs: compare-and-swap claim updates,
// idempotent PV creation and deletion, finalizer removal, secret reads, and driver calls under
// the in-flight limit (abandoned, not waited for, when the reconcile is aborted).
import { withoutFinalizer } from '../api/finalizers.js';
import PQueue from 'p-queue';
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { PersistentVolume, PersistentVolumeClaim, SecretReference } from '../api/types.js';
import type { CsiClient } from '../csi/client.js';
import type { CreateVolumeRequest, PartialMessage } from '../csi/types.js';
import type { Logger } from '../machinery/logger.js';
import type { ObjectStore } from '../store/types.js';
import { FINALIZER_EXTERNAL_PROVISIONER } from '../volume/provisioning-names.js';
import { readSecretReference } from '../volume/secrets.js';
import type { DriverCapabilities } from './capabilities.js';
import { decideCapabilities } from './capabilities.js';

const CLAIM = K.pvc;
const VOLUME = K.pv;
/** Compare-and-swap attempts before a write gives up (and the key is retried). */
const CAS_ATTEMPTS = 5;

export class ProvisionerStore {
  private readonly store: ObjectStore;
  private readonly log: Logger;

  constructor(store: ObjectStore, log: Logger) {
    this.store = store;
    this.log = log;
  }

  /** Compare-and-swap update of a claim, re-reading it on conflict. Returns the claim as stored. */
  async updateClaim(
    claim: PersistentVolumeClaim,
    edit: (c: PersistentVolumeClaim) => PersistentVolumeClaim | undefined,
  ): Promise<PersistentVolumeClaim> {
    let current = claim;
    for (let attempt = 1; ; attempt++) {
      const next = edit(current);
      if (!next) return current;
      try {
        return await this.store.update(CLAIM, next);
      } catch (err) {
        if (!isStatusError(err, 'Conflict') || attempt >= CAS_ATTEMPTS) throw err;
        current = await this.store.get<PersistentVolumeClaim>(
          CLAIM,
          claim.metadata.namespace,
          claim.metadata.name ?? '',
        );
      }
    }
  }

  async createVolume(pv: PersistentVolume): Promise<void> {
    try {
      await this.store.create(VOLUME, pv);
    } catch (err) {
      // An earlier attempt wrote it; its content is the same by construction.
      if (!isStatusError(err, 'AlreadyExists')) throw err;
    }
  }

  async deleteVolume(volume: PersistentVolume): Promise<void> {
    try {
      await this.store.delete(VOLUME, undefined, volume.metadata.name ?? '', {
        ...(volume.metadata.uid !== undefined ? { uid: volume.metadata.uid } : {}),
      });
    } catch (err) {
      if (!isStatusError(err, 'NotFound')) throw err;
    }
  }

  async removeVolumeFinalizer(volume: PersistentVolume): Promise<void> {
    let current = volume;
    for (let attempt = 1; ; attempt++) {
      const next = withoutFinalizer(current, FINALIZER_EXTERNAL_PROVISIONER);
      if (next === current) return;
      try {
        await this.store.update(VOLUME, next);
        return;
      } catch (err) {
        if (isStatusError(err, 'NotFound')) return;
        if (!isStatusError(err, 'Conflict') || attempt >= CAS_ATTEMPTS) throw err;
        current = await this.store.get<PersistentVolume>(VOLUME, undefined, volume.metadata.name ?? '');
      }
    }
  }

  /** The secret's data; with `missingIsEmpty`, a secret that is not there reads as empty (logged). */
  async readSecret(
    ref: SecretReference | undefined,
    options: { missingIsEmpty?: boolean } = {},
  ): Promise<Record<string, string>> {
    try {
      return await readSecretReference(this.store, ref);
    } catch (err) {
      if (!options.missingIsEmpty || !isStatusError((err as Error).cause, 'NotFound')) throw err;
      this.log.warn('secret not found; calling without secrets', {
        secret: `${ref?.namespace ?? ''}/${ref?.name ?? ''}`,
      });
      return {};
    }
  }
}

export class ProvisionerDriver {
  private readonly csi: CsiClient;
  private readonly timeoutMs: number;
  private readonly calls: PQueue;
  private capabilitiesCall: Promise<DriverCapabilities> | undefined;

  constructor(csi: CsiClient, options: { timeoutMs: number; maxInFlight: number }) {
    this.csi = csi;
    this.timeoutMs = options.timeoutMs;
    this.calls = new PQueue({ concurrency: Math.max(1, options.maxInFlight) });
  }

  /** The driver's capabilities, asked once (again after a failure). */
  capabilities(signal: AbortSignal): Promise<DriverCapabilities> {
    this.capabilitiesCall ??= (async () => {
      const [plugin, controller] = await Promise.all([
        this.csi.getPluginCapabilities({}, { timeoutMs: this.timeoutMs }),
        this.csi.controllerGetCapabilities({}, { timeoutMs: this.timeoutMs }),
      ]);
      return { plugin: plugin.capabilities, controller: controller.capabilities };
    })().then(
      ({ plugin, controller }) => decideCapabilities(plugin, controller),
      (err: unknown) => {
        this.capabilitiesCall = undefined;
        throw err;
      },
    );
    return abortable(this.capabilitiesCall, signal);
  }

  /** CreateVolume (also how a clean-up finds a volume by its name: the call is idempotent). */
  createVolume(
    request: PartialMessage<CreateVolumeRequest>,
    secrets: Record<string, string>,
    signal: AbortSignal,
  ) {
    return this.call(signal, () =>
      this.csi.createVolume({ ...request, secrets }, { timeoutMs: this.timeoutMs }),
    );
  }

  async deleteVolume(volumeId: string, secrets: Record<string, string>, signal: AbortSignal): Promise<void> {
    await this.call(signal, () =>
      this.csi.deleteVolume({ volume_id: volumeId, secrets }, { timeoutMs: this.timeoutMs }),
    );
  }

  /** A driver call within the in-flight limit; stopping abandons the wait (the call may finish unseen). */
  private call<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return abortable(
      this.calls.add(() => (signal.aborted ? Promise.reject(signal.reason as Error) : fn())),
      signal,
    );
  }
}

/** Rejects with the signal's reason as soon as it aborts; the promise itself keeps running. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
