import assert from 'node:assert/strict';
import { parseBindAddress, parseSecurePort, parseTlsSans } from '../../../src/cli/commands/apiserver.js';

describe('cli/apiserver flags', function () {
  it('--tls-san: IP addresses and DNS names, repeated or comma-separated, plus a host bind address', function () {
    assert.deepEqual(parseTlsSans(undefined, '127.0.0.1'), ['127.0.0.1']);
    assert.deepEqual(parseTlsSans(undefined, '0.0.0.0'), []);
    assert.deepEqual(parseTlsSans(undefined, '::'), []);
    assert.deepEqual(parseTlsSans(['fd00::7'], '::1'), ['fd00::7', '::1']);
    assert.deepEqual(parseTlsSans(['10.0.0.1,api.example', ' 10.0.0.2'], '10.0.0.1'), [
      '10.0.0.1',
      'api.example',
      '10.0.0.2',
    ]);
  });

  it('names the flag of a --tls-san that is neither', function () {
    for (const bad of [
      'Bad_Name',
      '',
      '[::1]',
      'fd00::7/64',
      '10.0.0.1:6443',
      'a..b',
      `${'x'.repeat(254)}`,
    ]) {
      assert.throws(
        () => parseTlsSans([bad], '127.0.0.1'),
        new RegExp(
          `^UsageError: invalid argument ".*" for "--tls-san" flag: expected an IP address or a DNS name$`,
        ),
      );
    }
  });

  it('refuses an IPv6 --tls-san or --bind-address with a zone, which no certificate or URL can name', function () {
    for (const zoned of ['fe80::1%lo', 'fe80::%1', 'fe80::1%eth0']) {
      assert.throws(
        () => parseTlsSans([zoned], '127.0.0.1'),
        new RegExp(
          `^UsageError: invalid argument "${zoned}" for "--tls-san" flag: a certificate names an address without its zone: give ${zoned.split('%')[0]}$`,
        ),
      );
    }
    assert.deepEqual(parseTlsSans(['::ffff:1.2.3.4'], '::1'), ['::ffff:1.2.3.4', '::1']);
    assert.equal(parseBindAddress(undefined), '127.0.0.1');
    assert.equal(parseBindAddress('fe80::1'), 'fe80::1');
    for (const bad of ['fe80::1%lo', '[::1]', 'localhost'])
      assert.throws(() => parseBindAddress(bad), {
        name: 'UsageError',
        message: `invalid argument "${bad}" for "--bind-address" flag: expected an IP`,
      });
  });

  it('--secure-port: 0-65535', function () {
    assert.equal(parseSecurePort(undefined), 6443);
    assert.equal(parseSecurePort('0'), 0);
    assert.throws(() => parseSecurePort('65536'), /"--secure-port" flag/);
  });
});
