// The unsatisfiable-claim case (a 100Ti WaitForFirstConsumer claim used by one pod) and the way
// it is measured, shared by bench/storm.ts and its test so both measure the same thing.
import { K } from '../../src/api/kinds.js';
import type { PersistentVolumeClaim, Pod, StorageClass } from '../../src/api/types.js';
import type { ObjectStore, Watch } from '../../src/store/types.js';
import { benchClaim, benchClass } from './objects.js';

export interface StormObjects {
  storageClass: StorageClass;
  claim: PersistentVolumeClaim;
  pod: Pod;
}

export function unsatisfiableClaim(provisioner: string, request = '100Ti'): StormObjects {
  const storageClass: StorageClass = {
    ...benchClass('huge', provisioner),
    volumeBindingMode: 'WaitForFirstConsumer',
  };
  const claim = benchClaim('huge', request, { className: 'huge' });
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'uses-huge', namespace: 'default' },
    spec: {
      containers: [{ name: 'app', image: 'busybox' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'huge' } }],
    },
  };
  return { storageClass, claim, pod };
}

export interface StormFigures {
  seconds: number;
  /** Every store write (the store's revision counter). */
  writes: number;
  /** Of those, the node agents' heartbeats (Node status and kube-node-lease Leases), which an idle berth writes as well. */
  nodeWrites: number;
  /** Event objects that exist now and did not before. */
  events: number;
  /** Share of one core this process used, in percent. */
  cpuPercent: number;
}

/** Counts what happens in the store while `during` runs. */
export async function measureStorm(store: ObjectStore, during: () => Promise<void>): Promise<StormFigures> {
  const revisionBefore = Number(await store.currentRevision());
  const eventsBefore = new Set((await store.list(K.event)).items.map((e) => e.metadata.uid));
  let nodeWrites = 0;
  const countHeartbeat = (): void => {
    nodeWrites++;
  };
  const since = String(revisionBefore);
  const nodeWatch: Watch = await store.watch(K.node, { resourceVersion: since }, countHeartbeat);
  const leaseWatch: Watch = await store.watch(
    K.lease,
    { resourceVersion: since, namespace: 'kube-node-lease' },
    countHeartbeat,
  );
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    await during();
  } finally {
    nodeWatch.stop();
    leaseWatch.stop();
  }
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (performance.now() - started) / 1000;
  const events = (await store.list(K.event)).items.filter((e) => !eventsBefore.has(e.metadata.uid)).length;
  return {
    seconds,
    writes: Number(await store.currentRevision()) - revisionBefore,
    nodeWrites,
    events,
    cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
  };
}

/** Deletes the pod and the claim; resolves with the seconds until both are gone, or undefined. */
export async function deleteStorm(
  store: ObjectStore,
  objects: StormObjects,
  limitMs = 60_000,
): Promise<number | undefined> {
  const started = performance.now();
  await store.delete(K.pod, 'default', objects.pod.metadata.name ?? '');
  await store.delete(K.pvc, 'default', objects.claim.metadata.name ?? '');
  while (performance.now() - started < limitMs) {
    const pods = await store.list(K.pod);
    const claims = await store.list(K.pvc);
    if (pods.items.length === 0 && claims.items.length === 0) return (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}
