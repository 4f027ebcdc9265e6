// Many workers per queue against the embedded store: claims race for the same volumes, and the
// binder must still give every volume to at most one claim, each Bound claim pointing at a
// volume that points back, with exactly four writes per bind once the volumes are Available.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kindFor } from '../../src/api/kinds.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../../src/api/types.js';
import { PvController } from '../../src/pv-controller/controller.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { newClaim, newVolume } from '../helpers/builders.js';

const PV = kindFor('v1', 'PersistentVolume');
const PVC = kindFor('v1', 'PersistentVolumeClaim');

describe('pv-controller with many workers (embedded store)', function () {
  it('binds 150 claims to 120 volumes: no volume twice, pointers agree, 4 writes per bind', async function () {
    if (!PV || !PVC) throw new Error('kinds');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-pv-workers-'));
    const store = await openEmbeddedStore({ dataDir: dir });
    const controller = new PvController({ store, workers: 16, resyncMs: 0 });
    try {
      await controller.start();
      await Promise.all(
        Array.from({ length: 120 }, (_, i) => store.create(PV, newVolume(`pv-${i}`, `${(i % 5) + 1}Gi`))),
      );
      while (controller.cache.index.candidateCount() < 120) await new Promise((r) => setTimeout(r, 10));
      await controller.whenIdle();
      const before = Number(await store.currentRevision());
      await Promise.all(Array.from({ length: 150 }, (_, i) => store.create(PVC, newClaim(`c-${i}`, '1Gi'))));
      const deadline = Date.now() + 20_000;
      let bound: PersistentVolumeClaim[] = [];
      while (Date.now() < deadline) {
        bound = [...controller.cache.allClaims()].filter((c) => c.status?.phase === 'Bound');
        if (bound.length === 120) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await controller.whenIdle();
      const claims = (await store.list<PersistentVolumeClaim>(PVC)).items;
      const volumes = new Map(
        (await store.list<PersistentVolume>(PV)).items.map((v) => [v.metadata.name ?? '', v]),
      );
      bound = claims.filter((c) => c.status?.phase === 'Bound');
      assert.equal(bound.length, 120);
      const used = new Set<string>();
      for (const c of bound) {
        const name = c.spec.volumeName ?? '';
        assert.ok(!used.has(name), `volume ${name} bound twice`);
        used.add(name);
        assert.equal(volumes.get(name)?.spec.claimRef?.uid, c.metadata.uid);
        assert.equal(volumes.get(name)?.status?.phase, 'Bound');
      }
      const writes = Number(await store.currentRevision()) - before - 150;
      const events = writes - 4 * 120;
      // 30 claims find nothing: one FailedBinding event each (more would be idle writes).
      assert.equal(events, 30, `writes beyond 4 per bind: ${events}`);
    } finally {
      await controller.stop();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
