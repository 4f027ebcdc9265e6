// The etcd ObjectStore's own cost per write, without HTTP: N volumes created, then each updated
// twice from the version the store has at hand (a bind's writes), by 32 concurrent writers,
// against a real etcd. Prints CPU per write of this process (the store: what an API server
// spends on etcd) and of etcd, and with --baseline DIR the same for the store of another checkout
// (DIR/src/store/etcd.ts), alternating rounds on the one etcd, then the ratios.
//   node --import tsx bench/etcd-store.ts [--writes 3000] [--rounds 3] [--baseline DIR]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { kindFor } from '../src/api/kinds.js';
import type { KubeObject } from '../src/api/meta.js';
import type { EtcdStore, EtcdStoreOptions } from '../src/store/etcd.js';
import { openEtcdStore } from '../src/store/etcd.js';
import { startEtcd } from './helpers/etcd.js';
import { machineLine, median, numberFlag, stringFlag } from './helpers/flags.js';
import { benchVolume } from './helpers/objects.js';
import { cpuSeconds } from './helpers/process-stats.js';

const WRITES = numberFlag('writes', 3000);
const ROUNDS = numberFlag('rounds', 3);
const WRITERS = 32;
const BASELINE = stringFlag('baseline');
const volumes = kindFor('v1', 'PersistentVolume')!;

type Open = (options: EtcdStoreOptions) => Promise<EtcdStore>;

async function inParallel(count: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** CPU ms per write of this process and of etcd, for one round on a fresh prefix. */
async function round(
  open: Open,
  endpoint: string,
  etcdPid: number,
  prefix: string,
): Promise<[number, number]> {
  const store = await open({ endpoints: [endpoint], prefix, compactionIntervalMs: 0 });
  try {
    const count = Math.ceil(WRITES / 3);
    const own = process.cpuUsage();
    const etcd = cpuSeconds(etcdPid);
    const written: KubeObject[] = [];
    await inParallel(count, async (i) => {
      written[i] = await store.create(volumes, benchVolume(`pv-${i}`, '1Gi', { className: 'bench' }));
    });
    for (const phase of ['Available', 'Bound']) {
      await inParallel(count, async (i) => {
        const current = written[i]!;
        written[i] = await store.update(volumes, { ...current, status: { phase } });
      });
    }
    const used = process.cpuUsage(own);
    const writes = count * 3;
    return [(used.user + used.system) / 1000 / writes, ((cpuSeconds(etcdPid) - etcd) * 1000) / writes];
  } finally {
    await store.close();
  }
}

console.log(machineLine());
console.log(`etcd store: ${WRITES} writes per round (creates, then two updates each), ${WRITERS} writers`);
const etcd = await startEtcd({});
try {
  const stores: [string, Open][] = [['this checkout', openEtcdStore]];
  if (BASELINE) {
    const module = (await import(pathToFileURL(path.resolve(BASELINE, 'src/store/etcd.ts')).href)) as {
      openEtcdStore: Open;
    };
    stores.push([`baseline ${path.basename(path.resolve(BASELINE))}`, module.openEtcdStore]);
  }
  const results = new Map<string, { own: number[]; etcd: number[] }>(
    stores.map(([label]) => [label, { own: [], etcd: [] }]),
  );
  let prefixes = 0;
  for (let r = 0; r <= ROUNDS; r++) {
    for (const [label, open] of stores) {
      const [own, etcdMs] = await round(open, etcd.endpoint, etcd.pid, `/bench-${++prefixes}`);
      if (r === 0) continue; // warm-up
      results.get(label)!.own.push(own);
      results.get(label)!.etcd.push(etcdMs);
    }
  }
  for (const [label, r] of results) {
    console.log(
      `  ${label}: store ${median(r.own).toFixed(3)} ms CPU per write (rounds ${r.own.map((v) => v.toFixed(3)).join(', ')}),` +
        ` etcd ${median(r.etcd).toFixed(3)} ms`,
    );
  }
  if (BASELINE) {
    const [mine, base] = [...results.values()];
    console.log(
      `  ratio this/baseline: store CPU ${(median(mine!.own) / median(base!.own)).toFixed(2)}x,` +
        ` etcd CPU ${(median(mine!.etcd) / median(base!.etcd)).toFixed(2)}x`,
    );
  }
} finally {
  await etcd.stop();
}
