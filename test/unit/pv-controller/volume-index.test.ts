// The volume index must give exactly the answer of Kubernetes' rules applied to every volume
// (a linear scan), for any mix of volumes, updates and claims.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AccessMode, PersistentVolume, PersistentVolumeClaim } from '../../../src/api/types.js';
import { VolumeIndex } from '../../../src/pv-controller/volume-index.js';
import type { MatchOptions } from '../../../src/volume/match.js';
import {
  accessModesKey,
  canonicalAccessModes,
  capacityBytes,
  compareBySize,
  nodeSelectorMatches,
  preBoundFits,
  unclaimedFits,
} from '../../../src/volume/match.js';
import { newClaim, newVolume } from '../../helpers/builders.js';

/** The rules over every volume: pre-bound first, then fewest access modes, then smallest. */
function linearMatch(
  volumes: Iterable<PersistentVolume>,
  claim: PersistentVolumeClaim,
  options: MatchOptions,
): PersistentVolume | undefined {
  const all = [...volumes];
  const rank = (v: PersistentVolume) => ({ name: v.metadata.name ?? '', bytes: capacityBytes(v) });
  const pre = all
    .filter((v) => preBoundFits(v, claim, options))
    .sort((a, b) => compareBySize(rank(a), rank(b)));
  if (pre[0]) return pre[0];
  if (options.delayBinding && !options.node) return undefined;
  let best: PersistentVolume | undefined;
  const key = (v: PersistentVolume) =>
    [canonicalAccessModes(v.spec.accessModes).length, accessModesKey(v.spec.accessModes)] as const;
  for (const v of all) {
    if (!unclaimedFits(v, claim, options)) continue;
    if (!best) {
      best = v;
      continue;
    }
    const [bc, bk] = key(best);
    const [vc, vk] = key(v);
    if (vc !== bc ? vc < bc : vk !== bk ? vk < bk : compareBySize(rank(v), rank(best)) < 0) best = v;
  }
  return best;
}

describe('pv-controller volume index', function () {
  it('finds the smallest fitting volume with a binary search', function () {
    const index = new VolumeIndex();
    for (const [name, size] of [
      ['a', '2G'],
      ['b', '7G'],
      ['c', '10G'],
    ] as const) {
      index.upsert(newVolume(name, size, { phase: 'Available' }));
    }
    assert.equal(index.findBestMatch(newClaim('x', '6Gi'), { delayBinding: false })?.metadata.name, 'b');
    assert.equal(index.findBestMatch(newClaim('x', '8G'), { delayBinding: false })?.metadata.name, 'c');
    assert.equal(index.findBestMatch(newClaim('x', '11G'), { delayBinding: false }), undefined);
    index.remove('b');
    assert.equal(index.findBestMatch(newClaim('x', '6Gi'), { delayBinding: false })?.metadata.name, 'c');
    assert.equal(index.candidateCount(), 2);
  });

  it('re-files a volume when it is claimed, released or deleted', function () {
    const index = new VolumeIndex();
    assert.equal(index.upsert(newVolume('a', '1Gi')), false, 'no phase: not a candidate');
    assert.equal(index.upsert(newVolume('a', '1Gi', { phase: 'Available' })), true);
    assert.equal(index.upsert(newVolume('a', '1Gi', { phase: 'Available' })), false, 'already a candidate');
    index.upsert(newVolume('a', '1Gi', { phase: 'Bound', claim: { name: 'c', uid: 'u' } }));
    assert.equal(index.candidateCount(), 0);
    assert.equal(index.preBoundTo('default/c').length, 1);
    index.remove('a');
    assert.equal(index.preBoundTo('default/c').length, 0);
  });

  it('keeps every volume pre-bound to one claim as they come and go', function () {
    const index = new VolumeIndex();
    const names = () =>
      index
        .preBoundTo('default/c')
        .map((v) => v.metadata.name)
        .sort();
    const bound = (name: string) =>
      newVolume(name, '1Gi', { phase: 'Bound', claim: { name: 'c', uid: 'u' } });
    index.upsert(bound('a'));
    index.upsert(bound('a'));
    index.upsert(bound('b'));
    index.upsert(bound('d'));
    assert.deepEqual(names(), ['a', 'b', 'd']);
    index.remove('b');
    index.remove('a');
    assert.deepEqual(names(), ['d']);
    index.upsert(newVolume('d', '1Gi', { phase: 'Available' }));
    assert.deepEqual(names(), []);
  });

  it('node affinity: terms ORed, expressions ANDed, empty terms match nothing', function () {
    const node = { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1', zone: 'a', cores: '8' } };
    const term = (
      key: string,
      operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt',
      values?: string[],
    ) => ({
      key,
      operator,
      ...(values ? { values } : {}),
    });
    assert.ok(
      nodeSelectorMatches(
        { nodeSelectorTerms: [{ matchExpressions: [term('zone', 'In', ['a', 'b'])] }] },
        node,
      ),
    );
    assert.ok(
      !nodeSelectorMatches(
        { nodeSelectorTerms: [{ matchExpressions: [term('zone', 'NotIn', ['a'])] }] },
        node,
      ),
    );
    assert.ok(
      nodeSelectorMatches({ nodeSelectorTerms: [{ matchExpressions: [term('cores', 'Gt', ['4'])] }] }, node),
    );
    assert.ok(
      !nodeSelectorMatches({ nodeSelectorTerms: [{ matchExpressions: [term('gpu', 'Exists')] }] }, node),
    );
    assert.ok(
      nodeSelectorMatches(
        {
          nodeSelectorTerms: [
            { matchExpressions: [term('gpu', 'Exists')] },
            { matchFields: [term('metadata.name', 'In', ['n1'])] },
          ],
        },
        node,
      ),
    );
    assert.ok(!nodeSelectorMatches({ nodeSelectorTerms: [{}] }, node));
  });

  it('agrees with a linear scan of the same rules (fast-check)', function () {
    const modes = fc.subarray<AccessMode>(
      ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'],
      {
        minLength: 1,
      },
    );
    const size = fc.constantFrom('1Gi', '2Gi', '3G', '5Gi', '10Gi', '1Ti');
    const volume = fc.record({
      size,
      className: fc.constantFrom(undefined, '', 'gold'),
      modes,
      phase: fc.constantFrom(undefined, 'Available' as const, 'Available' as const, 'Released' as const),
      preBind: fc.option(fc.constantFrom('c0', 'c1'), { nil: undefined }),
      uid: fc.constantFrom(undefined, 'uid-c0', 'other'),
      block: fc.boolean(),
      label: fc.constantFrom(undefined, 'fast', 'slow'),
      node: fc.constantFrom(undefined, 'n1', 'n2'),
      deleting: fc.boolean(),
    });
    const claim = fc.record({
      name: fc.constantFrom('c0', 'c1', 'c2'),
      size,
      className: fc.constantFrom<string | null>(null, '', 'gold'),
      modes,
      block: fc.boolean(),
      selector: fc.constantFrom(undefined, 'fast'),
      delayBinding: fc.boolean(),
      node: fc.constantFrom(undefined, 'n1', 'n2'),
    });
    fc.assert(
      fc.property(
        fc.array(volume, { maxLength: 25 }),
        fc.array(fc.nat(24), { maxLength: 5 }),
        fc.array(claim, { minLength: 1, maxLength: 5 }),
        (vols, removals, claims) => {
          const volumes = new Map<string, PersistentVolume>();
          const index = new VolumeIndex();
          vols.forEach((v, i) => {
            const pv = newVolume(`v${i}`, v.size, {
              ...(v.className !== undefined ? { className: v.className } : {}),
              accessModes: v.modes,
              ...(v.phase ? { phase: v.phase } : {}),
              ...(v.preBind ? { claim: { name: v.preBind, ...(v.uid ? { uid: v.uid } : {}) } } : {}),
              ...(v.block ? { volumeMode: 'Block' as const } : {}),
              ...(v.label ? { labels: { tier: v.label } } : {}),
              ...(v.node ? { node: v.node } : {}),
              ...(v.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
            });
            volumes.set(`v${i}`, pv);
            index.upsert(pv);
          });
          for (const r of removals) {
            volumes.delete(`v${r}`);
            index.remove(`v${r}`);
          }
          for (const c of claims) {
            const pvc = newClaim(c.name, c.size, {
              className: c.className,
              accessModes: c.modes,
              ...(c.block ? { volumeMode: 'Block' as const } : {}),
              ...(c.selector ? { selector: { matchLabels: { tier: c.selector } } } : {}),
            });
            const options: MatchOptions = {
              delayBinding: c.delayBinding,
              ...(c.node ? { node: { name: c.node, labels: { 'kubernetes.io/hostname': c.node } } } : {}),
            };
            const want = linearMatch(volumes.values(), pvc, options)?.metadata.name;
            const got = index.findBestMatch(pvc, options)?.metadata.name;
            assert.equal(got, want);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
