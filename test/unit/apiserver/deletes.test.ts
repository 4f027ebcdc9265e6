import assert from 'node:assert/strict';
import { isStatusError } from '../../../src/api/errors.js';
import type { Pod } from '../../../src/api/types.js';
import { podGracePeriod, policyFinalizer, readDeleteOptions } from '../../../src/apiserver/deletes.js';

const q = (s: string) => new URLSearchParams(s);

describe('apiserver/deletes: DeleteOptions from the query and the body', function () {
  const cases: Array<[string, URLSearchParams, unknown, Record<string, unknown>]> = [
    ['nothing', q(''), undefined, { dryRun: false, preconditions: {} }],
    ['dryRun in the query', q('dryRun=All'), undefined, { dryRun: true, preconditions: {} }],
    ['dryRun in the body', q(''), { dryRun: ['All'] }, { dryRun: true, preconditions: {} }],
    [
      'propagationPolicy in the query',
      q('propagationPolicy=Foreground'),
      undefined,
      { dryRun: false, preconditions: {}, propagationPolicy: 'Foreground' },
    ],
    [
      'the body wins over the query',
      q('propagationPolicy=Foreground'),
      { propagationPolicy: 'Orphan' },
      { dryRun: false, preconditions: {}, propagationPolicy: 'Orphan' },
    ],
    [
      'orphanDependents (deprecated) means Orphan',
      q(''),
      { orphanDependents: true },
      { dryRun: false, preconditions: {}, propagationPolicy: 'Orphan' },
    ],
    [
      'preconditions',
      q(''),
      { kind: 'DeleteOptions', preconditions: { uid: 'u', resourceVersion: '5' } },
      { dryRun: false, preconditions: { uid: 'u', resourceVersion: '5' } },
    ],
    [
      'gracePeriodSeconds from the query',
      q('gracePeriodSeconds=0'),
      undefined,
      { dryRun: false, preconditions: {}, gracePeriodSeconds: 0 },
    ],
    [
      'a negative grace period means now',
      q(''),
      { gracePeriodSeconds: -5 },
      { dryRun: false, preconditions: {}, gracePeriodSeconds: 0 },
    ],
  ];
  for (const [title, query, body, want] of cases) {
    it(title, function () {
      assert.deepEqual(readDeleteOptions(query, body), want);
    });
  }

  const refused: Array<[string, URLSearchParams, unknown, string]> = [
    ['an unknown dryRun value', q('dryRun=Some'), undefined, 'dryRun: Unsupported value: "Some"'],
    [
      'an unknown policy',
      q('propagationPolicy=Later'),
      undefined,
      'propagationPolicy: Unsupported value: "Later"',
    ],
    [
      'a grace period that is not a number',
      q(''),
      { gracePeriodSeconds: 'soon' },
      'gracePeriodSeconds: Invalid value: "soon"',
    ],
    ['a body that is not an object', q(''), [1], 'the DeleteOptions body must be an object'],
  ];
  for (const [title, query, body, message] of refused) {
    it(`refuses ${title}`, function () {
      assert.throws(
        () => readDeleteOptions(query, body),
        (err: unknown) => isStatusError(err) && err.message.includes(message),
      );
    });
  }

  it('policies map to the garbage collector finalizers', function () {
    assert.equal(policyFinalizer('Orphan'), 'orphan');
    assert.equal(policyFinalizer('Foreground'), 'foregroundDeletion');
    assert.equal(policyFinalizer('Background'), undefined);
    assert.equal(policyFinalizer(undefined), undefined);
  });

  it('pods: the requested grace period, else their own, else 30; unscheduled or finished pods go at once', function () {
    const pod = (spec: Record<string, unknown>, phase?: string): Pod =>
      ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: { containers: [], ...spec },
        status: { phase },
      }) as Pod;
    assert.equal(podGracePeriod(pod({ nodeName: 'n' }), undefined), 30);
    assert.equal(podGracePeriod(pod({ nodeName: 'n', terminationGracePeriodSeconds: 5 }), undefined), 5);
    assert.equal(podGracePeriod(pod({ nodeName: 'n', terminationGracePeriodSeconds: 5 }), 1), 1);
    assert.equal(podGracePeriod(pod({}), 10), 0);
    assert.equal(podGracePeriod(pod({ nodeName: 'n' }, 'Succeeded'), 10), 0);
  });
});
