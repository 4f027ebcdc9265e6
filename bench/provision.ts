// Provisioning throughput: 1,000 claims of an Immediate class through the PV controller, the
// provisioner and an in-memory CSI driver (bench/helpers) over a unix socket, on the embedded store in a temp dir.
// Prints claims Bound per second and store writes per claim (all components, and the
// provisioner's share), counted by wrapping the store.
//   node --import tsx bench/provision.ts [claims]
import { mkdtemp, rm } from 'node:fs/promises';
import { register } from 'prom-client';
import os from 'node:os';
import path from 'node:path';
import { K } from '../src/api/kinds.js';
import type { PersistentVolumeClaim, StorageClass } from '../src/api/types.js';
import { CsiClient } from '../src/csi/client.js';
import { DEFAULT_WORKERS, Provisioner } from '../src/provisioner/controller.js';
import { SharedInformerCache } from '../src/machinery/shared-cache.js';
import { PvController } from '../src/pv-controller/controller.js';
import { openEmbeddedStore } from '../src/store/embedded.js';
import { CountingStore } from './helpers/counting-store.js';
import { startBenchDriver } from './helpers/csi-driver.js';
import { numberFlag } from './helpers/flags.js';
import { benchClaim, benchClass } from './helpers/objects.js';

const CLAIMS = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 1000);
const BINDER_WORKERS = numberFlag('binder-workers', 32);
const PROVISIONER_WORKERS = numberFlag('provisioner-workers', DEFAULT_WORKERS);
const GOAL_CLAIMS_PER_SECOND = 500;
const GOAL_WRITES_PER_CLAIM = 6;
const DRIVER = 'bench.csi.berth.dev';

const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-prov-'));
const store = await openEmbeddedStore({ dataDir: path.join(dir, 'data') });
const driver = await startBenchDriver(DRIVER, path.join(dir, 'csi.sock'), BigInt(CLAIMS) << 31n);
const csi = new CsiClient(driver.endpoint, {});
// Each controller writes through its own counting store, as the test's writes do.
const binderStore = new CountingStore(store);
const provisionerStore = new CountingStore(store);
const testStore = new CountingStore(store);
// One informer cache for both, as `berth up` has (reads are not counted).
const informers = new SharedInformerCache({ store });
const pvController = new PvController({ store: binderStore, workers: BINDER_WORKERS, informers });
const provisioner = new Provisioner({
  store: provisionerStore,
  csi,
  driverName: DRIVER,
  informers,
  workers: PROVISIONER_WORKERS,
});
await pvController.start();
await provisioner.start();
let running = true;
async function stopControllers(): Promise<void> {
  if (!running) return;
  running = false;
  await provisioner.stop();
  await pvController.stop();
  await informers.stop();
}

try {
  await testStore.create<StorageClass>(K.sc, benchClass('bench', DRIVER));
  let bound = 0;
  let resolveAll: () => void = () => undefined;
  const allBound = new Promise<void>((resolve) => (resolveAll = resolve));
  const seen = new Set<string>();
  // read-only: the bench only looks, so it shares the committed objects instead of copying each
  const watch = await store.watch(K.pvc, { readOnly: true }, (event) => {
    const claim = event.object as PersistentVolumeClaim;
    const name = claim.metadata.name ?? '';
    if (claim.status?.phase === 'Bound' && !seen.has(name)) {
      seen.add(name);
      if (++bound === CLAIMS) resolveAll();
    }
  });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CLAIMS }, (_, i) =>
      testStore.create(
        K.pvc,
        benchClaim(`claim-${String(i).padStart(5, '0')}`, '1Gi', { className: 'bench' }),
      ),
    ),
  );
  await allBound;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  watch.stop();
  await provisioner.whenIdle();
  await pvController.whenIdle();
  // Stopping flushes the event recorders, so every event write is counted.
  await stopControllers();

  const rate = CLAIMS / seconds;
  const total = binderStore.writes + provisionerStore.writes + testStore.writes;
  const perClaim = (n: number): string => (n / CLAIMS).toFixed(2);
  const kinds = (s: CountingStore): string =>
    [...s.byKind].map(([kind, n]) => `${kind} ${perClaim(n)}`).join(', ');
  const backend = driver.volumeCount();
  console.log(`claims:                  ${CLAIMS} (backend volumes: ${backend})`);
  console.log(`bound in:                ${seconds.toFixed(2)} s`);
  console.log(`claims Bound per second: ${rate.toFixed(0)} (goal >= ${GOAL_CLAIMS_PER_SECOND})`);
  // The process is one thread: at most one core, so 1000 / (CPU ms per claim) is the most claims per
  // second this code can bind on an idle machine, whatever the load was during this run.
  const cpuMsPerClaim = (cpu.user + cpu.system) / 1000 / CLAIMS;
  const coreShare = ((cpu.user + cpu.system) / 1e6 / seconds) * 100;
  console.log(
    `CPU per claim:           ${cpuMsPerClaim.toFixed(2)} ms (${coreShare.toFixed(0)}% of a core while binding; at a whole core: ${(1000 / cpuMsPerClaim).toFixed(0)} claims/s)`,
  );
  console.log(`provisioner writes/claim: ${perClaim(provisionerStore.writes)}: ${kinds(provisionerStore)}`);
  console.log(`pv-controller writes/claim: ${perClaim(binderStore.writes)}: ${kinds(binderStore)}`);
  console.log(
    `all writes/claim (incl. the claim itself): ${perClaim(total)} (goal <= ${GOAL_WRITES_PER_CLAIM}; Kubernetes' path: 9)`,
  );
  console.log(`reconciles/claim: ${await reconcilesPerClaim()}`);
  const stats = store.stats();
  console.log(
    `WAL batches: ${stats.walBatches}, records: ${stats.walRecords}, largest batch: ${stats.walLargestBatch}`,
  );
} finally {
  await stopControllers();
  csi.close();
  await driver.shutdown();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

/** Keys each controller's queue handed to a worker, per claim: what the controllers' reactions cost. */
async function reconcilesPerClaim(): Promise<string> {
  const metric = register.getSingleMetric('workqueue_work_duration_seconds');
  if (!metric) return 'unknown';
  const { values } = await metric.get();
  return values
    .filter((v) => (v as { metricName?: string }).metricName === 'workqueue_work_duration_seconds_count')
    .map((v) => `${String(v.labels['name'])} ${(v.value / CLAIMS).toFixed(2)}`)
    .join(', ');
}
