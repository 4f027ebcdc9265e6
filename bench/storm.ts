// An unsatisfiable claim in a started berth: a 100Ti claim of a WaitForFirstConsumer class of the
// local driver, used by one pod, on two nodes. Nothing can ever provision it, so every component
// must back off instead of retrying in a loop. Prints, for the watched period: store writes per
// minute (the store's revision counter; the nodes' heartbeats shown apart), Event objects, and
// the process's CPU share of one core; then deletes the pod and the claim and prints how long
// until both are gone.
//   node --import tsx bench/storm.ts [seconds]        (as root: the local driver needs it)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../src/api/kinds.js';
import { startEmbeddedBerth } from '../src/cli/embedded.js';
import { DRIVER_NAME } from '../src/drivers/local/names.js';
import { silentLogger } from '../src/machinery/logger.js';
import { deleteStorm, measureStorm, unsatisfiableClaim } from './helpers/storm.js';

const SECONDS = Number(process.argv[2] ?? 60);
const GOAL_WRITES = 60;
const GOAL_EVENTS = 10;
const GOAL_CPU_PERCENT = 10;

if (process.getuid?.() !== 0) {
  console.log('bench/storm.ts needs root (the local CSI driver makes loop devices)');
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), 'berth-storm-'));
const berth = await startEmbeddedBerth({
  dataDir: join(dir, 'data'),
  port: 0,
  logger: silentLogger,
  nodes: ['node-a', 'node-b'].map((name) => ({ name, rootDir: join(dir, name) })),
});
try {
  const { store } = berth;
  const objects = unsatisfiableClaim(DRIVER_NAME);
  await store.create(K.sc, objects.storageClass);
  // Let the nodes register before counting: their start-up writes are not the storm.
  await new Promise((r) => setTimeout(r, 2000));
  const f = await measureStorm(store, async () => {
    await store.create(K.pvc, objects.claim);
    await store.create(K.pod, objects.pod);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
  });
  const perMin = (n: number): string => ((n / f.seconds) * 60).toFixed(0);
  console.log(`watched:         ${f.seconds.toFixed(1)} s`);
  console.log(
    `store writes:    ${f.writes} (${perMin(f.writes)}/min), of which node heartbeats ${f.nodeWrites}; ` +
      `without them ${f.writes - f.nodeWrites} (goal < ${GOAL_WRITES})`,
  );
  console.log(`Event objects:   ${f.events} (goal <= ${GOAL_EVENTS})`);
  console.log(`CPU:             ${f.cpuPercent.toFixed(1)}% of one core (goal < ${GOAL_CPU_PERCENT}%)`);
  const deleteS = await deleteStorm(store, objects);
  console.log(
    `delete:          ${deleteS === undefined ? 'NOT finished after 60 s' : `finished in ${deleteS.toFixed(1)} s`}`,
  );
} finally {
  await berth.stop();
  await rm(dir, { recursive: true, force: true });
}
