import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { FaultQueue, parseFault } from '../../mock-driver/faults.js';

describe('mock driver faults', () => {
  it('parses the CLI forms', () => {
    assert.deepEqual(parseFault('CreateVolume:hang'), { method: 'CreateVolume', fault: { kind: 'hang' } });
    assert.deepEqual(parseFault('DeleteVolume:die'), {
      method: 'DeleteVolume',
      fault: { kind: 'die', phase: 'before' },
    });
    assert.deepEqual(parseFault('DeleteVolume:die-after').fault, { kind: 'die', phase: 'after' });
    assert.deepEqual(parseFault('Probe:delay=250').fault, { kind: 'delay', ms: 250 });
    assert.deepEqual(parseFault('CreateVolume:error=UNAVAILABLE').fault, {
      kind: 'error',
      code: status.UNAVAILABLE,
    });
    assert.deepEqual(parseFault('CreateVolume:error=10:busy').fault, {
      kind: 'error',
      code: status.ABORTED,
      message: 'busy',
    });
    assert.throws(() => parseFault('CreateVolume'));
    assert.throws(() => parseFault('CreateVolume:error=NOPE'));
    assert.throws(() => parseFault('CreateVolume:explode'));
  });

  it('hands out faults per method in order', () => {
    const q = new FaultQueue();
    q.push('A', { kind: 'hang' }, { kind: 'delay', ms: 1 });
    assert.deepEqual(q.take('B'), undefined);
    assert.deepEqual(q.take('A'), { kind: 'hang' });
    assert.deepEqual(q.take('A'), { kind: 'delay', ms: 1 });
    assert.equal(q.take('A'), undefined);
  });
});
