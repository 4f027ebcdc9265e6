import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensureCredentials } from '../../../src/apiserver/credentials.js';
import {
  certificateNames,
  createSelfSignedCertificate,
  derInteger,
  ipv6Bytes,
} from '../../../src/apiserver/self-signed-cert.js';

describe('API server credentials', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-creds-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('encodes DER integers minimally (a serial starting with a zero byte broke 1 cert in 128)', () => {
    const hex = (bytes: number[]) => derInteger(Buffer.from(bytes)).toString('hex');
    assert.equal(hex([0x00, 0x05]), '020105');
    assert.equal(hex([0x00, 0x00, 0x7f]), '02017f');
    assert.equal(hex([0x80]), '02020080');
    assert.equal(hex([0x00, 0x80]), '02020080');
    assert.equal(hex([0x00]), '020100');
    assert.equal(hex([0x01, 0x00]), '02020100');
  });

  it('creates a self-signed certificate valid for 127.0.0.1', () => {
    const { cert } = createSelfSignedCertificate('test');
    const x509 = new X509Certificate(cert);
    assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x509.checkHost('localhost'), 'localhost');
    assert.ok(x509.verify(x509.publicKey), 'self-signed');
    assert.ok(x509.ca);
  });

  it('names the extra addresses and DNS names clients on other hosts use', () => {
    const { cert } = createSelfSignedCertificate('berth-apiserver', new Date(), ['10.0.0.7', 'api.example']);
    const x509 = new X509Certificate(cert);
    assert.equal(
      x509.subjectAltName,
      'DNS:localhost, IP Address:127.0.0.1, IP Address:10.0.0.7, DNS:api.example',
    );
    assert.equal(x509.checkIP('10.0.0.7'), '10.0.0.7');
    assert.equal(x509.checkHost('api.example'), 'api.example');
    assert.equal(x509.checkIP('10.0.0.8'), undefined);
  });

  it('names IPv6 addresses as their 16 bytes', () => {
    assert.equal(ipv6Bytes('::1').toString('hex'), `${'0'.repeat(31)}1`);
    assert.equal(ipv6Bytes('fd00::7:8').toString('hex'), 'fd000000000000000000000000070008');
    assert.equal(ipv6Bytes('::ffff:10.1.2.3').toString('hex'), '00000000000000000000ffff0a010203');
    const { cert } = createSelfSignedCertificate('berth-apiserver', new Date(), ['fd00::7', '::1']);
    const x509 = new X509Certificate(cert);
    assert.equal(x509.checkIP('fd00::7'), 'fd00::7');
    assert.equal(x509.checkIP('fd00:0:0::7'), 'fd00:0:0::7');
    assert.equal(x509.checkIP('::1'), '::1');
    assert.equal(x509.checkIP('fd00::8'), undefined);
  });

  it('makes a new certificate when a name is asked for that the kept one lacks, naming the old names too', async () => {
    const first = await ensureCredentials(dir, 'https://127.0.0.1:1234', undefined, ['10.0.0.7']);
    const same = await ensureCredentials(dir, 'https://127.0.0.1:1234', undefined, ['10.0.0.7']);
    assert.equal(same.tls.cert, first.tls.cert, 'the same names keep the certificate');
    const more = await ensureCredentials(dir, 'https://127.0.0.1:1234', undefined, [
      'api.example',
      'fd00::7',
    ]);
    assert.notEqual(more.tls.cert, first.tls.cert);
    assert.equal(more.token, first.token, 'the token stays');
    const x509 = new X509Certificate(more.tls.cert);
    for (const ip of ['127.0.0.1', '10.0.0.7', 'fd00::7']) assert.equal(x509.checkIP(ip), ip);
    assert.equal(x509.checkHost('api.example'), 'api.example');
    assert.ok(certificateNames(more.tls.cert).includes('localhost'));
    const config = parse(await readFile(more.kubeconfigPath, 'utf8'));
    assert.equal(
      Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString(),
      more.tls.cert,
      'the kubeconfig trusts the new certificate',
    );
    assert.equal(await readFile(join(dir, 'apiserver.crt'), 'utf8'), more.tls.cert, 'and keeps it');
  });

  it('names an address once, however it is written, when a certificate is made again', async () => {
    const first = await ensureCredentials(dir, 'https://127.0.0.1:1234', undefined, [
      '::ffff:1.2.3.4',
      'fd00::7',
    ]);
    const more = await ensureCredentials(dir, 'https://127.0.0.1:1234', undefined, [
      'fd00:0::7',
      'api.example',
    ]);
    assert.notEqual(more.tls.cert, first.tls.cert);
    const names = certificateNames(more.tls.cert);
    assert.deepEqual(names, [...new Set(names)], `no name twice: ${names.join(', ')}`);
    assert.equal(names.length, 5, names.join(', '));
    const x509 = new X509Certificate(more.tls.cert);
    for (const ip of ['::ffff:1.2.3.4', 'fd00::7', '127.0.0.1']) assert.equal(x509.checkIP(ip), ip);
  });

  it("refuses a name the replicas' shared certificate lacks, rather than serving one that does not name it", async () => {
    const shared = createSelfSignedCertificate('berth-apiserver', new Date(), ['10.0.0.7']);
    const share = async (mine: { token: string }) => ({ token: mine.token, ...shared });
    const agreed = await ensureCredentials(dir, 'https://127.0.0.1:1234', share, ['10.0.0.7']);
    assert.equal(agreed.tls.cert, shared.cert);
    await assert.rejects(
      ensureCredentials(dir, 'https://127.0.0.1:1234', share, ['10.0.0.7', 'api.example']),
      /^Error: --tls-san api\.example: the serving certificate the API server replicas share .* does not name it/,
    );
  });

  it('keeps one token, writes private files and a kubeconfig with context "berth"', async () => {
    const first = await ensureCredentials(dir, 'https://127.0.0.1:1234');
    const second = await ensureCredentials(dir, 'https://127.0.0.1:5678');
    assert.equal(second.token, first.token);
    assert.equal(second.tls.cert, first.tls.cert);
    assert.ok(first.token.length >= 40);
    for (const file of ['apiserver-token', 'apiserver.key', 'kubeconfig']) {
      assert.equal((await stat(join(dir, file))).mode & 0o777, 0o600, file);
    }
    const config = parse(await readFile(second.kubeconfigPath, 'utf8'));
    assert.equal(config['current-context'], 'berth');
    assert.equal(config.contexts[0].name, 'berth');
    assert.equal(config.clusters[0].cluster.server, 'https://127.0.0.1:5678');
    assert.equal(
      Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString(),
      first.tls.cert,
    );
    assert.equal(config.users[0].user.token, first.token);
  });
});
