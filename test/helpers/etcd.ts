// A real etcd for tests: the benchmarks' starter (Debian's etcd-server on free loopback ports, a
// temp data directory, stopped by PID), whether this machine has it, and certificates for one on TLS.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdTlsFiles } from '../../bench/helpers/etcd.js';
import { hasCommand } from '../conformance/host.js';

export { startEtcd, type EtcdServer, type EtcdTlsFiles } from '../../bench/helpers/etcd.js';

/** Why etcd-backed tests cannot run here, or undefined when they can. */
export function etcdUnavailable(): string | undefined {
  return hasCommand('etcd') ? undefined : 'needs etcd (Debian: etcd-server)';
}

/**
 * A CA and, signed by it, a serving certificate for 127.0.0.1 and a client certificate, made with
 * openssl in `dir` (PEM files: ca, server and client, .crt and .key).
 */
export function makeEtcdCertificates(
  dir: string,
  ca = 'ca',
): EtcdTlsFiles & { clientCert: string; clientKey: string } {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${ca}`,
  );
  const signed = (name: string, extensions: string) => {
    writeFileSync(file(`${name}.ext`), extensions);
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  };
  signed(
    `${ca}-server`,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  signed(`${ca}-client`, 'extendedKeyUsage=clientAuth\n');
  return {
    caFile: file(`${ca}.crt`),
    certFile: file(`${ca}-server.crt`),
    keyFile: file(`${ca}-server.key`),
    clientCert: file(`${ca}-client.crt`),
    clientKey: file(`${ca}-client.key`),
  };
}
