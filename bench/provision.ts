// Provisioning throughput: 1,000 claims of an Immediate class through the PV controller, the
// provisioner and the mock CSI driver over a unix socket, on the embedded store in a temp dir.
// Prints claims Bound per second and store writes per claim (all components, and the
// provisioner's share), counted by wrapping the store.
//   node --import tsx bench/provision.ts [claims]
import type { PersistentVolumeClaim, StorageClass } from '../src/api/types.js';
import { newClaim, newClass } from '../test/helpers/builders.js';
import { CountingStore, DRIVER, K, World } from '../test/unit/provisioner/harness.js';

const CLAIMS = Number(process.argv[2] ?? 1000);
const GOAL_CLAIMS_PER_SECOND = 250;
const GOAL_WRITES_PER_CLAIM = 6;

const shared: CountingStore[] = [];
const world = new World({
  driver: { capacityBytes: BigInt(CLAIMS) << 31n },
  wrapStore: (store) => {
    const counting = new CountingStore(store);
    shared.push(counting);
    return counting;
  },
});
await world.start();
// startControllers wraps the store once for the PV controller and once for the provisioner.
const [binderStore, provisionerStore] = shared;
if (!binderStore || !provisionerStore) throw new Error('expected two counting stores');
const testStore = new CountingStore(world.store);

try {
  await testStore.create<StorageClass>(K.storageClass, newClass('bench', { provisioner: DRIVER }));
  let bound = 0;
  let resolveAll: () => void = () => undefined;
  const allBound = new Promise<void>((resolve) => (resolveAll = resolve));
  const seen = new Set<string>();
  const watch = await world.store.watch(K.claim, {}, (event) => {
    const claim = event.object as PersistentVolumeClaim;
    const name = claim.metadata.name ?? '';
    if (claim.status?.phase === 'Bound' && !seen.has(name)) {
      seen.add(name);
      if (++bound === CLAIMS) resolveAll();
    }
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLAIMS }, (_, i) =>
      testStore.create(
        K.claim,
        newClaim(`claim-${String(i).padStart(5, '0')}`, '1Gi', { className: 'bench' }),
      ),
    ),
  );
  await allBound;
  const seconds = (performance.now() - started) / 1000;
  watch.stop();
  await world.provisioner?.whenIdle();
  await world.pvController?.whenIdle();
  // Stopping flushes the event recorders, so every event write is counted.
  await world.stopControllers();

  const rate = CLAIMS / seconds;
  const total = binderStore.writes + provisionerStore.writes + testStore.writes;
  const perClaim = (n: number): string => (n / CLAIMS).toFixed(2);
  const kinds = (s: CountingStore): string =>
    [...s.byKind].map(([kind, n]) => `${kind} ${perClaim(n)}`).join(', ');
  const backend = world.driver.driver.volumes().length;
  console.log(`claims:                  ${CLAIMS} (backend volumes: ${backend})`);
  console.log(`bound in:                ${seconds.toFixed(2)} s`);
  console.log(`claims Bound per second: ${rate.toFixed(0)} (goal >= ${GOAL_CLAIMS_PER_SECOND})`);
  console.log(
    `provisioner writes/claim: ${perClaim(provisionerStore.writes)} (goal <= ${GOAL_WRITES_PER_CLAIM}): ${kinds(provisionerStore)}`,
  );
  console.log(`pv-controller writes/claim: ${perClaim(binderStore.writes)}: ${kinds(binderStore)}`);
  console.log(`all writes/claim (incl. the claim itself): ${perClaim(total)}`);
  const stats = world.store.stats();
  console.log(
    `WAL batches: ${stats.walBatches}, records: ${stats.walRecords}, largest batch: ${stats.walLargestBatch}`,
  );
} finally {
  await world.stop();
}
