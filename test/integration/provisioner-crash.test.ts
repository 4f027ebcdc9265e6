// Crash safety: no backend volume is leaked or doubled when the provisioner dies mid-CreateVolume
// (claims deleted while it is down included), nor when the driver process is SIGKILLed mid-call.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StorageClass } from '../../src/api/types.js';
import { ANN_PROVISIONING, FINALIZER_PROVISIONING } from '../../src/volume/provisioning-names.js';
import { DIE_EXIT_CODE } from '../mock-driver/faults.js';
import { newClaim, newClass } from '../helpers/builders.js';
import { DRIVER, K, World, waitFor } from '../unit/provisioner/harness.js';

const MOCK_MAIN = path.resolve(import.meta.dirname, '..', 'mock-driver', 'main.ts');

describe('provisioner crash safety', function () {
  let world: World;
  const children: ChildProcess[] = [];
  const cleanups: (() => void)[] = [];

  afterEach(async function () {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        child.kill('SIGKILL');
    }
    await world.stop();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('converges to one backend volume per claim, and none for claims deleted while it was down', async function () {
    world = await new World({ provisioner: { retryBaseMs: 100 } }).start();
    await world.create<StorageClass>(K.storageClass, newClass('fast', { provisioner: DRIVER }));
    // The driver answers slowly, so the provisioner dies while every CreateVolume is in flight;
    // the driver goes on to create the volumes anyway, as a real backend would.
    for (let i = 0; i < 4; i++) world.driver.driver.faults.push('CreateVolume', { kind: 'delay', ms: 700 });
    const claims = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => world.create(K.claim, newClaim(name, '1Gi', { className: 'fast' }))),
    );
    await waitFor(
      'every CreateVolume in flight',
      () => world.driver.driver.callsOf('CreateVolume').length === 4,
    );
    for (const claim of claims) {
      const stored = await world.claim(claim.metadata.name ?? '');
      assert.equal(stored?.metadata.annotations?.[ANN_PROVISIONING], `pvc-${claim.metadata.uid ?? ''}`);
    }

    // "Crash": the controllers stop without finishing, and the store is reopened from disk.
    await world.stopControllers();
    await world.reopenStore();
    // Two claims are deleted while nothing runs; the in-flight record holds them.
    await world.store.delete(K.claim, 'default', 'b');
    await world.store.delete(K.claim, 'default', 'd');
    const held = await world.claim('b');
    assert.ok(held?.metadata.deletionTimestamp && held.metadata.finalizers?.includes(FINALIZER_PROVISIONING));
    await waitFor(
      'the abandoned calls finish in the backend',
      () => world.driver.driver.volumes().length === 4,
    );

    await world.startControllers();
    for (const name of ['a', 'c']) {
      await waitFor(`claim ${name} Bound`, async () => (await world.claim(name))?.status?.phase === 'Bound');
    }
    await waitFor('deleted claims gone', async () => !(await world.claim('b')) && !(await world.claim('d')));
    await waitFor('backend holds exactly the live claims', () => world.driver.driver.volumes().length === 2);

    const byName = new Map(world.driver.driver.volumes().map((v) => [v.name, v]));
    for (const claim of claims.filter((c) => ['a', 'c'].includes(c.metadata.name ?? ''))) {
      const name = `pvc-${claim.metadata.uid ?? ''}`;
      const pv = await world.volume(name);
      assert.equal(pv?.spec.csi?.volumeHandle, byName.get(name)?.id);
      const live = await world.claim(claim.metadata.name ?? '');
      assert.equal(live?.metadata.annotations?.[ANN_PROVISIONING], undefined);
      assert.ok(!live?.metadata.finalizers?.includes(FINALIZER_PROVISIONING));
    }
    // Finishing after the crash reused the same names: no volume was created twice.
    const names = world.driver.driver
      .callsOf('CreateVolume')
      .map((c) => (c.request as { name: string }).name);
    assert.equal(new Set(names).size, 4);
  });

  it('finishes a CreateVolume whose driver process was killed mid-call, without a second volume', async function () {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-prov-driver-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const socketPath = path.join(dir, 'driver.sock');
    const stateFile = path.join(dir, 'driver-state.json');
    const startDriver = async (faults: string[]): Promise<ChildProcess> => {
      const args = ['--import', 'tsx', MOCK_MAIN, '--endpoint', `unix://${socketPath}`, '--name', DRIVER];
      args.push('--state-file', stateFile, ...faults.flatMap((f) => ['--fault', f]));
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready ')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`driver exited with ${code} before it was ready`)));
      });
      return child;
    };
    // The driver creates the volume, records it, and dies before answering.
    const first = await startDriver(['CreateVolume:die-after']);
    const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
    world = await new World({
      endpoint: `unix://${socketPath}`,
      csiClient: { timeoutMs: 5_000 },
      provisioner: { retryBaseMs: 100 },
    }).start();

    await world.create<StorageClass>(K.storageClass, newClass('fast', { provisioner: DRIVER }));
    const claim = await world.create(K.claim, newClaim('survivor', '1Gi', { className: 'fast' }));
    assert.equal(await exited, DIE_EXIT_CODE);
    const volumesInState = (): { name: string; id: string }[] =>
      (JSON.parse(readFileSync(stateFile, 'utf8')) as { volumes: { name: string; id: string }[] }).volumes;
    assert.equal(volumesInState().length, 1, 'the dead driver made the volume');

    await startDriver([]);
    const bound = await waitFor(
      'claim Bound after the driver restarts',
      async () => {
        const c = await world.claim('survivor');
        return c?.status?.phase === 'Bound' ? c : undefined;
      },
      20_000,
    );
    const volumes = volumesInState();
    assert.equal(volumes.length, 1, 'still exactly one backend volume');
    assert.equal(volumes[0]?.name, `pvc-${claim.metadata.uid ?? ''}`);
    const pv = await world.volume(bound.spec.volumeName ?? '');
    assert.equal(pv?.spec.csi?.volumeHandle, volumes[0]?.id);
  });
});
