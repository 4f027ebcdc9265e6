// Stand-ins for the two components the scheduler and StatefulSet integration tests need but do not
// test: a node agent that reports a pod Running once it is on a node and every claim it uses is
// Bound, and an external provisioner that answers selected-node with a pre-bound volume on that
// node (or, when told to fail on a node, removes selected-node as a provisioner asking for
// rescheduling does). Both poll the store, so tests depend on neither real component.
import { isStatusError } from '../../../src/api/errors.js';
import { K } from '../../../src/api/kinds.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../../../src/api/types.js';
import { ANN_DYNAMICALLY_PROVISIONED, ANN_SELECTED_NODE } from '../../../src/volume/annotations.js';
import type { ObjectStore } from '../../../src/store/types.js';

export interface ClusterSimOptions {
  store: ObjectStore;
  /** Provision claims of classes with this provisioner. */
  provisioner?: string;
  /** Nodes where the next provisioning attempt fails and asks for rescheduling. */
  failOnceOn?: string[];
  intervalMs?: number;
}

export class ClusterSim {
  /** Node names each provisioned volume was created for, by volume name. */
  readonly provisioned = new Map<string, string>();
  /** Claims whose provisioning failed and whose selected-node was removed. */
  readonly rescheduled: string[] = [];
  private readonly store: ObjectStore;
  private readonly provisioner: string | undefined;
  private readonly failOnce: Set<string>;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: ClusterSimOptions) {
    this.store = options.store;
    this.provisioner = options.provisioner;
    this.failOnce = new Set(options.failOnceOn ?? []);
    this.intervalMs = options.intervalMs ?? 20;
  }

  start(): void {
    const loop = (): void => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch(() => undefined)
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    const claims = (await this.store.list<PersistentVolumeClaim>(K.pvc)).items;
    if (this.provisioner) await this.provision(claims);
    await this.runPods(claims);
  }

  private async runPods(claims: PersistentVolumeClaim[]): Promise<void> {
    const phase = new Map(
      claims.map((c) => [`${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`, c.status?.phase]),
    );
    for (const pod of (await this.store.list<Pod>(K.pod)).items) {
      if (!pod.spec.nodeName || pod.metadata.deletionTimestamp || pod.status?.phase === 'Running') continue;
      const names = (pod.spec.volumes ?? []).flatMap((v) =>
        v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [],
      );
      if (!names.every((n) => phase.get(`${pod.metadata.namespace ?? ''}/${n}`) === 'Bound')) continue;
      await this.store
        .patch(
          K.pod,
          pod.metadata.namespace,
          pod.metadata.name ?? '',
          { status: { phase: 'Running' } },
          { subresource: 'status' },
        )
        .catch(() => undefined);
    }
  }

  private async provision(claims: PersistentVolumeClaim[]): Promise<void> {
    const classes = new Map(
      (await this.store.list<StorageClass>(K.sc)).items.map((c) => [c.metadata.name ?? '', c]),
    );
    for (const claim of claims) {
      const node = claim.metadata.annotations?.[ANN_SELECTED_NODE];
      const cls = classes.get(claim.spec.storageClassName ?? '');
      if (
        !node ||
        !cls ||
        claim.spec.volumeName ||
        claim.metadata.deletionTimestamp ||
        cls.provisioner !== this.provisioner
      ) {
        continue;
      }
      const { namespace, name, uid } = claim.metadata;
      if (this.failOnce.delete(node)) {
        await this.store.patch(K.pvc, namespace, name ?? '', {
          metadata: { annotations: { [ANN_SELECTED_NODE]: null } },
        });
        this.rescheduled.push(`${name ?? ''}@${node}`);
        continue;
      }
      const volumeName = `pvc-${uid ?? ''}`;
      const volume: PersistentVolume = {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: volumeName, annotations: { [ANN_DYNAMICALLY_PROVISIONED]: cls.provisioner } },
        spec: {
          capacity: { storage: claim.spec.resources?.requests?.['storage'] ?? '1Gi' },
          accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: cls.reclaimPolicy ?? 'Delete',
          storageClassName: cls.metadata.name ?? '',
          claimRef: {
            kind: 'PersistentVolumeClaim',
            apiVersion: 'v1',
            namespace: namespace ?? '',
            name: name ?? '',
            uid: uid ?? '',
          },
          csi: { driver: cls.provisioner, volumeHandle: `vol-${uid ?? ''}` },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
              ],
            },
          },
        },
      };
      try {
        await this.store.create(K.pv, volume);
        this.provisioned.set(volumeName, node);
      } catch (err) {
        if (!isStatusError(err, 'AlreadyExists')) throw err;
      }
    }
  }
}

/** Polls until `check` returns a value (not undefined), or fails after `ms`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 8000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}
