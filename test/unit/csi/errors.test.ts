import assert from 'node:assert/strict';
import {
  CsiError,
  classify,
  csiError,
  isRetryable,
  status,
  statusName,
  toCsiError,
} from '../../../src/csi/errors.js';

describe('csi errors', () => {
  // Every gRPC code and whether the operation may still be running afterwards.
  const table: [keyof typeof status, 'in-progress' | 'final'][] = [
    ['OK', 'final'],
    ['CANCELLED', 'in-progress'],
    ['UNKNOWN', 'final'],
    ['INVALID_ARGUMENT', 'final'],
    ['DEADLINE_EXCEEDED', 'in-progress'],
    ['NOT_FOUND', 'final'],
    ['ALREADY_EXISTS', 'final'],
    ['PERMISSION_DENIED', 'final'],
    ['RESOURCE_EXHAUSTED', 'in-progress'],
    ['FAILED_PRECONDITION', 'final'],
    ['ABORTED', 'in-progress'],
    ['OUT_OF_RANGE', 'final'],
    ['UNIMPLEMENTED', 'final'],
    ['INTERNAL', 'final'],
    ['UNAVAILABLE', 'in-progress'],
    ['DATA_LOSS', 'final'],
    ['UNAUTHENTICATED', 'final'],
  ];
  for (const [name, expected] of table) {
    it(`classifies ${name} as ${expected}`, () => {
      const err = csiError(status[name], 'x');
      assert.equal(classify(err), expected);
      assert.equal(isRetryable(err), expected === 'in-progress');
      assert.equal(err.codeName, name);
    });
  }

  it('classifies raw grpc-js ServiceError-like objects by code', () => {
    assert.equal(classify({ code: status.UNAVAILABLE, details: 'gone' }), 'in-progress');
    assert.equal(classify({ code: status.NOT_FOUND, details: 'no' }), 'final');
  });

  it('treats errors that never got a gRPC status as in-progress', () => {
    assert.equal(classify(new Error('socket hang up')), 'in-progress');
    assert.equal(classify(toCsiError(new Error('boom'))), 'in-progress');
    assert.equal(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'in-progress');
  });

  it('toCsiError keeps code and details of a ServiceError', () => {
    const err = toCsiError({
      code: 5,
      details: 'volume v1 not found',
      message: '5 NOT_FOUND: volume v1 not found',
    });
    assert.ok(err instanceof CsiError);
    assert.equal(err.code, status.NOT_FOUND);
    assert.equal(err.codeName, 'NOT_FOUND');
    assert.equal(err.details, 'volume v1 not found');
    assert.equal(err.message, 'NOT_FOUND: volume v1 not found');
    assert.equal(err.local, false);
  });

  it('names unknown codes', () => {
    assert.equal(statusName(99), 'CODE_99');
  });
});
