// Steps shared by the end-to-end tests that drive an embedded berth through its REST API: wait for
// an object to be gone or an event to appear, run a pod on a node and learn its volume's host path,
// and stop berth after deleting what the test left (pods first, so volumes are unmounted).
import type { KindInfo } from '../../src/api/kinds.js';
import { K } from '../../src/api/kinds.js';
import type { Event, Pod } from '../../src/api/types.js';
import type { EmbeddedBerth } from '../../src/cli/embedded.js';
import type { RestClient } from '../../src/client/rest.js';
import { VOLUME_PATHS_ANNOTATION } from '../../src/node/desired-state.js';
import { eventually } from './eventually.js';

export function gone(
  api: RestClient,
  kind: KindInfo,
  namespace: string | undefined,
  name: string,
): Promise<true> {
  return eventually(`${kind.singular} ${name} gone`, async () => {
    try {
      await api.get(kind, namespace, name);
      return false;
    } catch {
      return true;
    }
  });
}

/** The first event on `name` (in default) with this reason whose message matches. */
export function eventOn(api: RestClient, name: string, reason: string, pattern: RegExp): Promise<Event> {
  return eventually(
    `${reason} on ${name}`,
    async () =>
      (await api.list(K.event, { namespace: 'default' })).items.find((e) => {
        const ev = e as Event;
        return ev.involvedObject.name === name && ev.reason === reason && pattern.test(ev.message ?? '');
      }) as Event | undefined,
  );
}

/** Creates a pod on `node` with `claimName` as volume "d"; resolves with its host path once Running. */
export async function runPodWithClaim(
  api: RestClient,
  name: string,
  node: string,
  claimName: string,
): Promise<string> {
  await api.create<Pod>(K.pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName } }],
    },
  });
  return eventually(`${name} Running`, async () => {
    const p = await api.get<Pod>(K.pod, 'default', name);
    const paths = JSON.parse(p.metadata.annotations?.[VOLUME_PATHS_ANNOTATION] ?? '{}') as Record<
      string,
      string
    >;
    return p.status?.phase === 'Running' ? paths['d'] : undefined;
  });
}

/** Deletes every pod and claim, waits (bounded) for the pods to go, and stops berth. */
export async function stopBerthAfterCleanup(berth: EmbeddedBerth | undefined): Promise<void> {
  if (!berth) return;
  const store = berth.store;
  for (const p of (await store.list(K.pod)).items)
    await store.delete(K.pod, p.metadata.namespace, p.metadata.name ?? '').catch(() => undefined);
  for (const c of (await store.list(K.pvc)).items)
    await store.delete(K.pvc, c.metadata.namespace, c.metadata.name ?? '').catch(() => undefined);
  await eventually('pods gone', async () => (await store.list(K.pod)).items.length === 0).catch(
    () => undefined,
  );
  await berth.stop();
}
