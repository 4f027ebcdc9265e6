// Property (fast-check): whatever sequence of writes reaches the door (merge patches of spec and
// status, full updates, patches of the volume, deletes), a Bound claim keeps its volume; only
// deleting the claim ends the binding. Runs against the real embedded store through
// AdmittedStore, the door the API server and the controllers share.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isStatusError } from '../../src/api/errors.js';
import { kindFor, type KindInfo } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { AdmittedStore } from '../../src/apiserver/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';

const PVC = kindFor('v1', 'PersistentVolumeClaim') as KindInfo;
const PV = kindFor('v1', 'PersistentVolume') as KindInfo;

type Op =
  | { type: 'patchClaim'; patch: Record<string, unknown> }
  | { type: 'patchClaimStatus'; patch: Record<string, unknown> }
  | { type: 'replaceClaimSpec'; spec: Record<string, unknown> }
  | { type: 'patchVolume'; patch: Record<string, unknown> }
  | { type: 'deleteClaim' };

const volumeNames = fc.constantFrom('pv-a', 'pv-b', 'other', '', null);
const quantities = fc.constantFrom('512Mi', '1Gi', '1024Mi', '2Gi', 'x', null);
const claimSpecPatch = fc.record(
  {
    volumeName: volumeNames,
    storageClassName: fc.constantFrom('fast', 'slow', '', null),
    accessModes: fc.constantFrom(['ReadWriteOnce'], ['ReadWriteMany'], null),
    volumeMode: fc.constantFrom('Block', 'Filesystem', null),
    resources: fc.record({ requests: fc.record({ storage: quantities }) }),
    selector: fc.constantFrom({ matchLabels: { a: 'b' } }, null),
  },
  { requiredKeys: [] },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  claimSpecPatch.map((spec) => ({ type: 'patchClaim' as const, patch: { spec } })),
  fc
    .record(
      {
        phase: fc.constantFrom('Pending', 'Bound', 'Lost', null),
        capacity: fc.constantFrom({ storage: '1Gi' }, null),
      },
      { requiredKeys: [] },
    )
    .map((status) => ({ type: 'patchClaimStatus' as const, patch: { status } })),
  claimSpecPatch.map((spec) => ({ type: 'replaceClaimSpec' as const, spec })),
  fc
    .record(
      {
        claimRef: fc.constantFrom(
          null,
          { namespace: 'default', name: 'thief', uid: 'u-thief' },
          { namespace: 'default', name: 'c1' },
        ),
        csi: fc.constantFrom({ volumeHandle: 'moved' }, null),
        persistentVolumeReclaimPolicy: fc.constantFrom('Delete', 'Retain', null),
      },
      { requiredKeys: [] },
    )
    .map((spec) => ({ type: 'patchVolume' as const, patch: { spec } })),
  fc.constant({ type: 'deleteClaim' as const }),
);

describe('property: a Bound claim keeps its volume except through deletion', function () {
  this.timeout(180_000);
  let dir: string;
  let raw: EmbeddedStore;
  let door: AdmittedStore;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-bound-prop-'));
    raw = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    door = new AdmittedStore(raw);
    await door.create(kindFor('v1', 'Namespace') as KindInfo, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'default' },
    });
  });
  after(async function () {
    await raw?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A fresh bound pair: pv-a <-> default/c1, both Bound. */
  async function boundPair(): Promise<string> {
    for (const [kind, ns, name] of [
      [PVC, 'default', 'c1'],
      [PV, undefined, 'pv-a'],
    ] as const) {
      try {
        const obj = await raw.get(kind, ns, name);
        await raw.update(kind, { ...obj, metadata: { ...obj.metadata, finalizers: [] } });
        await raw.delete(kind, ns, name);
      } catch (err) {
        if (!isStatusError(err, 'NotFound')) throw err;
      }
    }
    const claim = await door.create<KubeObject>(PVC, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'c1', namespace: 'default' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        storageClassName: 'fast',
        volumeName: 'pv-a',
      },
    });
    const uid = claim.metadata.uid ?? '';
    await door.create(PV, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-a' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'fast',
        csi: { driver: 'none.example.com', volumeHandle: 'a' },
        claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'default', name: 'c1', uid },
      },
    });
    await door.patch(
      PVC,
      'default',
      'c1',
      { status: { phase: 'Bound', capacity: { storage: '1Gi' } } },
      { subresource: 'status' },
    );
    await door.patch(PV, undefined, 'pv-a', { status: { phase: 'Bound' } }, { subresource: 'status' });
    return uid;
  }

  async function perform(o: Op): Promise<void> {
    switch (o.type) {
      case 'patchClaim':
        return void (await door.patch(PVC, 'default', 'c1', o.patch));
      case 'patchClaimStatus':
        return void (await door.patch(PVC, 'default', 'c1', o.patch, { subresource: 'status' }));
      case 'replaceClaimSpec': {
        const current = await door.get(PVC, 'default', 'c1');
        const spec = Object.fromEntries(Object.entries(o.spec).filter(([, v]) => v !== null));
        return void (await door.update(PVC, { ...current, spec }));
      }
      case 'patchVolume':
        return void (await door.patch(PV, undefined, 'pv-a', o.patch));
      case 'deleteClaim':
        return void (await door.delete(PVC, 'default', 'c1'));
    }
  }

  it('holds for random write sequences', async function () {
    let refused = 0;
    let applied = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
        const uid = await boundPair();
        for (const o of ops) {
          try {
            await perform(o);
            applied++;
          } catch (err) {
            // refusals are the point; anything that is not a Kubernetes error is a bug
            if (!isStatusError(err)) throw err;
            refused++;
          }
          const claim = await raw.get(PVC, 'default', 'c1').catch((err: unknown) => {
            if (isStatusError(err, 'NotFound')) return undefined;
            throw err;
          });
          if (!claim) continue; // deleted: the only way out of the binding
          assert.equal(
            (claim['spec'] as { volumeName?: string }).volumeName,
            'pv-a',
            `after ${JSON.stringify(o)}`,
          );
          assert.equal(claim.metadata.uid, uid);
          const volume = await raw.get(PV, undefined, 'pv-a');
          const ref = (volume['spec'] as { claimRef?: { name?: string; uid?: string } }).claimRef;
          // the volume may be released (claimRef removed), never handed to another claim while bound
          if (ref?.name === 'c1') assert.ok(ref.uid === undefined || ref.uid === uid, JSON.stringify(ref));
          if (ref && ref.name !== 'c1') assert.ok(!ref.uid || ref.uid !== uid);
        }
      }),
      { numRuns: 60 },
    );
    // both kinds of outcome were exercised
    assert.ok(refused > 0 && applied > 0, `refused ${refused}, applied ${applied}`);
  });
});
