// Fault injection against the real embedded store (a few seeds; bench/store-faults.ts runs
// many and prints the figures): after every fault, either every acknowledged write is served,
// or the start is refused naming the damage and repair leaves exactly the acknowledged objects
// minus the ones it reported. Never a silent loss.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { FILE_FAULTS } from '../../bench/helpers/store-faults.js';
import { formatTallies, runFaultClasses, type Tally } from '../../bench/helpers/store-faults-run.js';
import { isRoot, skipUnless } from '../helpers/skip.js';

function hasLoopTools(): boolean {
  try {
    execFileSync('losetup', ['--version'], { stdio: 'ignore' });
    execFileSync('mkfs.ext4', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('store fault injection', function () {
  this.timeout(240_000);

  function check(tallies: Tally[]): void {
    const table = formatTallies(tallies);
    for (const t of tallies) {
      assert.equal(t.silentLosses, 0, `${t.fault}: silent losses\n${table}\n${t.notes.join('\n')}`);
      assert.equal(t.overReported, 0, `${t.fault}: repair reported objects that were not lost\n${table}`);
      assert.ok(t.tried > 0, `${t.fault}: no run applied\n${table}`);
    }
  }

  it('damaged files: every fault is served whole, or refused with the damage named and repaired exactly', async function () {
    const options = { seeds: 3, killSeeds: 0, writeFaultSeeds: 0, enospcSeeds: 0, firstSeed: 101 };
    const files: readonly string[] = FILE_FAULTS;
    // after a crash (no clean-shutdown marker) repair names lost objects from the hints later
    // records carry, which reach 32 revisions back: exact for page-sized damage, not for a
    // deleted segment of more records (those runs report revisions it cannot name)
    const named = (fault: string): boolean =>
      files.includes(fault) || (fault.endsWith(' after crash') && !fault.startsWith('delete-segment'));
    const tallies = (await runFaultClasses(options)).filter((t) => named(t.fault));
    check(tallies);
    for (const t of tallies.filter((x) => x.refused > 0)) {
      assert.equal(t.refusedNamed, t.refused, `${t.fault}: a refusal did not name file, offset and versions`);
      assert.equal(t.repaired, t.refused);
    }
    for (const t of tallies) assert.equal(t.servedAll + t.refused, t.tried, t.fault);
  });

  it('SIGKILL at random, mid-snapshot and mid-compaction, and EIO on write/fsync: nothing acknowledged is lost', async function () {
    const tallies = (
      await runFaultClasses({ seeds: 0, killSeeds: 2, writeFaultSeeds: 3, enospcSeeds: 0, firstSeed: 7 })
    ).filter((t) => t.fault.startsWith('SIGKILL') || t.fault.startsWith('EIO'));
    check(tallies);
    for (const t of tallies) {
      assert.equal(t.refused, 0, `${t.fault}: a crash left only a torn tail, yet the start was refused`);
      assert.equal(t.servedAll, t.tried, t.fault);
    }
    const eio = tallies.find((t) => t.fault.startsWith('EIO'))!;
    assert.ok(eio.serverErrors > 0, 'EIO was injected and answered 5xx');
    assert.equal(eio.consistent, eio.tried);
    assert.equal(eio.resumed, eio.tried);
  });

  it('ENOSPC on a small loop-mounted filesystem: 5xx, consistent, writes resume when space returns', async function () {
    skipUnless(this, isRoot, 'needs root to loop-mount a small filesystem');
    skipUnless(this, hasLoopTools(), 'needs losetup and mkfs.ext4');
    const tallies = (
      await runFaultClasses({ seeds: 0, killSeeds: 0, writeFaultSeeds: 0, enospcSeeds: 2, firstSeed: 3 })
    ).filter((t) => t.fault.startsWith('ENOSPC'));
    check(tallies);
    const [enospc] = tallies;
    assert.ok(enospc!.serverErrors > 0, 'the full filesystem was answered with 5xx');
    assert.equal(enospc!.consistent, enospc!.tried);
    assert.equal(enospc!.resumed, enospc!.tried);
    assert.equal(enospc!.servedAll, enospc!.tried);
  });
});
