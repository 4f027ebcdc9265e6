import assert from 'node:assert/strict';
import type { ObjectReference } from '../../../src/api/meta.js';
import {
  COMBINED_PREFIX,
  EventCorrelator,
  SPAM_BURST,
  SPAM_REFILL_MS,
} from '../../../src/machinery/event-correlation.js';

const claim: ObjectReference = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  namespace: 'a',
  name: 'c',
  uid: 'u',
};
const other: ObjectReference = { ...claim, name: 'd', uid: 'u2' };

describe('machinery/event-correlation', () => {
  it('repeats of one message share a key; up to 10 distinct messages keep their own', () => {
    const c = new EventCorrelator();
    const keys = Array.from({ length: 10 }, (_, i) =>
      c.correlate({ ref: claim, type: 'Warning', reason: 'ProvisioningFailed', message: `m${i}`, nowMs: 0 }),
    );
    assert.equal(new Set(keys.map((k) => (k.action === 'record' ? k.key : ''))).size, 10);
    const again = c.correlate({
      ref: claim,
      type: 'Warning',
      reason: 'ProvisioningFailed',
      message: 'm0',
      nowMs: 1,
    });
    assert.deepEqual(again, keys[0]);
  });

  it('the 11th distinct similar message is combined, and all later ones count on the same key', () => {
    const c = new EventCorrelator();
    for (let i = 0; i < 10; i++)
      c.correlate({ ref: claim, type: 'Warning', reason: 'R', message: `only ${i} bytes left`, nowMs: i });
    const a = c.correlate({
      ref: claim,
      type: 'Warning',
      reason: 'R',
      message: 'only 10 bytes left',
      nowMs: 20,
    });
    const b = c.correlate({
      ref: claim,
      type: 'Warning',
      reason: 'R',
      message: 'only 11 bytes left',
      nowMs: 21,
    });
    assert.ok(a.action === 'record' && b.action === 'record');
    assert.equal(a.message, `${COMBINED_PREFIX}only 10 bytes left`);
    assert.equal(a.key, b.key);
    // another reason or another object is not similar
    const d = c.correlate({
      ref: other,
      type: 'Warning',
      reason: 'R',
      message: 'only 12 bytes left',
      nowMs: 22,
    });
    assert.ok(d.action === 'record' && !d.message.startsWith(COMBINED_PREFIX));
  });

  it('similarity is forgotten after the 10 minute window', () => {
    const c = new EventCorrelator();
    for (let i = 0; i < 11; i++)
      c.correlate({ ref: claim, type: 'Normal', reason: 'R', message: `m${i}`, nowMs: 0 });
    const later = c.correlate({
      ref: claim,
      type: 'Normal',
      reason: 'R',
      message: 'm99',
      nowMs: 10 * 60_000 + 1,
    });
    assert.ok(later.action === 'record' && later.message === 'm99');
  });

  it('the spam filter lets a burst of 25 through per object, then one per 5 minutes', () => {
    const c = new EventCorrelator();
    const sent = (ref: ObjectReference, nowMs: number): boolean =>
      c.correlate({ ref, type: 'Normal', reason: 'R', message: 'm', nowMs }).action === 'record';
    const burst = Array.from({ length: SPAM_BURST + 5 }, () => sent(claim, 0)).filter(Boolean).length;
    assert.equal(burst, SPAM_BURST);
    assert.equal(sent(other, 0), true, 'another object has its own bucket');
    assert.equal(sent(claim, SPAM_REFILL_MS - 1), false);
    assert.equal(sent(claim, SPAM_REFILL_MS), true);
    assert.equal(sent(claim, SPAM_REFILL_MS + 1), false);
  });
});
