import assert from 'node:assert/strict';
import {
  DEFAULT_LEASE_NAME,
  parseLeaderElection,
  parseMaster,
  takeBoolFlag,
} from '../../../src/cli/leader-flags.js';

describe('cli/leader-flags', function () {
  it("has kube-controller-manager's defaults", function () {
    assert.deepEqual(parseLeaderElection(true, {}), {
      enabled: true,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      namespace: 'kube-system',
      name: DEFAULT_LEASE_NAME,
    });
  });

  it('reads --leader-elect as pflag reads a boolean, the last one winning', function () {
    assert.deepEqual(takeBoolFlag(['--a', '--leader-elect=false', 'x'], 'leader-elect', true), [
      false,
      ['--a', 'x'],
    ]);
    assert.deepEqual(takeBoolFlag(['--leader-elect=false', '--leader-elect'], 'leader-elect', true), [
      true,
      [],
    ]);
    assert.deepEqual(takeBoolFlag(['--leader-elect=F'], 'leader-elect', true), [false, []]);
    assert.throws(
      () => takeBoolFlag(['--leader-elect=yes'], 'leader-elect', true),
      /invalid argument "yes" for "--leader-elect" flag: strconv\.ParseBool: parsing "yes": invalid syntax/,
    );
  });

  it('names the flag of a wrong value', function () {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { 'leader-elect-lease-duration': 'soon' },
        /"soon" for "--leader-elect-lease-duration" flag: expected a duration/,
      ],
      [
        { 'leader-elect-retry-period': '0s' },
        /"0s" for "--leader-elect-retry-period" flag: must be longer than 0s/,
      ],
      [
        { 'leader-elect-lease-duration': '5s', 'leader-elect-renew-deadline': '8s' },
        /"8s" for "--leader-elect-renew-deadline" flag: must be shorter than --leader-elect-lease-duration/,
      ],
      [
        { 'leader-elect-retry-period': '12s' },
        /"12s" for "--leader-elect-retry-period" flag: must be shorter than/,
      ],
      [
        { 'leader-elect-resource-namespace': 'Kube_System' },
        /"Kube_System" for "--leader-elect-resource-namespace"/,
      ],
      [{ 'leader-elect-resource-name': 'a/b' }, /"a\/b" for "--leader-elect-resource-name"/],
      [{ 'leader-elect-resource-lock': 'endpoints' }, /"--leader-elect-resource-lock" flag: only "leases"/],
    ];
    for (const [values, message] of cases) assert.throws(() => parseLeaderElection(true, values), message);
    // timings are not checked against each other when there is no election
    assert.equal(parseLeaderElection(false, { 'leader-elect-retry-period': '12s' }).enabled, false);
  });

  it('takes one or several --master URLs, and names a bad one', function () {
    assert.deepEqual(parseMaster(undefined), []);
    assert.deepEqual(parseMaster('https://a:6443, https://b:6443'), ['https://a:6443', 'https://b:6443']);
    assert.throws(
      () => parseMaster('https://a:6443,ftp://b'),
      /for "--master" flag: "ftp:\/\/b" is not an http\(s\) URL/,
    );
    assert.throws(() => parseMaster('nonsense'), /"--master" flag/);
  });
});
