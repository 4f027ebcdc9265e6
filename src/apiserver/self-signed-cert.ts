// A self-signed serving certificate (ECDSA P-256) for the API server on 127.0.0.1, built with a
// small DER encoder. kubectl only sends credentials over TLS, so the server needs one; the
// kubeconfig trusts exactly this certificate.
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP, isIPv4 } from 'node:net';

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
const octetString = (content: Buffer): Buffer => tlv(0x04, content);
const bitString = (content: Buffer): Buffer => tlv(0x03, Buffer.from([0]), content);
const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 + n, content);
const booleanTrue = tlv(0x01, Buffer.from([0xff]));

/** A non-negative DER integer from big-endian bytes, in its one minimal encoding. */
export function derInteger(bytes: Buffer): Buffer {
  // DER refuses redundant leading zero bytes ("illegal padding")...
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  // ...and integers are signed: a leading 1 bit needs one zero byte in front
  const first = minimal[0] ?? 0;
  return tlv(0x02, first & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  // UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5)
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [booleanTrue] : []), octetString(value));
}

export interface ServingCertificate {
  /** PEM certificate; also the trust anchor clients configure. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

const ipv4Bytes = (address: string): number[] => address.split('.').map(Number);

/** The 16 bytes of an IPv6 address (`::` expanded, a dotted IPv4 tail read as its 4 bytes). */
export function ipv6Bytes(address: string): Buffer {
  const groupsOf = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(group);
          return [a * 256 + b, c * 256 + d];
        });
  const [head = '', tail] = address.split('::');
  const before = groupsOf(head);
  const after = tail === undefined ? [] : groupsOf(tail);
  const groups = [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  return Buffer.from(groups.flatMap((group) => [group >> 8, group & 0xff]));
}

/** A subjectAltName entry: an IPv4 or IPv6 address, or a DNS name. */
function altName(name: string): Buffer {
  if (isIPv4(name)) return tlv(0x87, Buffer.from(ipv4Bytes(name)));
  if (isIP(name) === 6) return tlv(0x87, ipv6Bytes(name));
  return tlv(0x82, Buffer.from(name));
}

/** Which of `names` (addresses or DNS names) the certificate does not name. */
export function namesMissingFrom(cert: string, names: readonly string[]): string[] {
  const x509 = new X509Certificate(cert);
  return names.filter((name) =>
    isIP(name) === 0
      ? x509.checkHost(name, { subject: 'never', wildcards: false }) === undefined
      : x509.checkIP(name) === undefined,
  );
}

/** The DNS names and addresses a certificate of ours names (its subjectAltName entries). */
export function certificateNames(cert: string): string[] {
  const entries = new X509Certificate(cert).subjectAltName?.split(', ') ?? [];
  return entries.flatMap((entry) => {
    const [, name] = /^(?:DNS|IP Address):(.+)$/.exec(entry) ?? [];
    return name === undefined ? [] : [name];
  });
}

/**
 * A certificate for 127.0.0.1, localhost and `altNames` (IP addresses or DNS names: how clients
 * on other hosts reach the server), valid from an hour ago for ten years.
 */
export function createSelfSignedCertificate(
  commonName: string,
  now: Date = new Date(),
  altNames: readonly string[] = [],
): ServingCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8String(commonName))));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600_000);
  // an address is named once however it is written (a kept certificate's names come back as
  // OpenSSL spells them: FD00:0:0:0:0:0:0:7 for fd00::7)
  const entries = new Set(['localhost', '127.0.0.1', ...altNames].map((n) => altName(n).toString('hex')));
  const subjectAltName = sequence(...[...entries].map((hex) => Buffer.from(hex, 'hex')));
  const extensions = sequence(
    extension('2.5.29.19', true, sequence(booleanTrue)), // basicConstraints CA:TRUE, so it can be its own root
    extension('2.5.29.15', true, bitString(Buffer.from([0x84]))), // keyUsage digitalSignature, keyCertSign
    extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage serverAuth
    extension('2.5.29.17', false, subjectAltName),
  );
  const tbs = sequence(
    explicit(0, derInteger(Buffer.from([2]))), // v3
    derInteger(serial),
    ecdsaWithSha256,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, ecdsaWithSha256, bitString(signature));
  return {
    cert: pem('CERTIFICATE', certificate),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
