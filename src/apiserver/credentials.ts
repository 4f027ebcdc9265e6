// The API server's credentials, generated at first start and kept in the data directory: one
// bearer token, a self-signed serving certificate (kubectl sends tokens only over TLS), and a
// kubeconfig (context "berth") that trusts the certificate and carries the token.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  certificateNames,
  createSelfSignedCertificate,
  namesMissingFrom,
  type ServingCertificate,
} from './self-signed-cert.js';

export const TOKEN_FILE = 'apiserver-token';
export const KUBECONFIG_FILE = 'kubeconfig';
export const CERT_FILE = 'apiserver.crt';
export const KEY_FILE = 'apiserver.key';
export const CONTEXT_NAME = 'berth';

export interface Credentials {
  token: string;
  kubeconfigPath: string;
  /** The serving certificate and key to pass to startApiServer({ tls }). */
  tls: ServingCertificate;
}

export function kubeconfigDocument(
  serverUrl: string,
  token: string,
  caCert: string,
): Record<string, unknown> {
  const cluster = { server: serverUrl, 'certificate-authority-data': Buffer.from(caCert).toString('base64') };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CONTEXT_NAME, cluster }],
    users: [{ name: CONTEXT_NAME, user: { token } }],
    contexts: [
      { name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: CONTEXT_NAME, namespace: 'default' } },
    ],
    'current-context': CONTEXT_NAME,
    preferences: {},
  };
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trim() === '' ? undefined : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writePrivate(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
}

async function readOrCreateToken(path: string): Promise<string> {
  const existing = await readIfPresent(path);
  if (existing) return existing.trim();
  const token = randomBytes(32).toString('base64url');
  await writePrivate(path, `${token}\n`);
  return token;
}

async function readOrCreateCertificate(
  certPath: string,
  keyPath: string,
  altNames: readonly string[],
): Promise<ServingCertificate> {
  const [cert, key] = await Promise.all([readIfPresent(certPath), readIfPresent(keyPath)]);
  if (cert && key && namesMissingFrom(cert, altNames).length === 0) return { cert, key };
  // a name asked for since the certificate was made: a new one names the old names and the new
  const names = cert && key ? [...certificateNames(cert), ...altNames] : altNames;
  const created = createSelfSignedCertificate('berth-apiserver', new Date(), names);
  await writePrivate(keyPath, created.key);
  await writePrivate(certPath, created.cert);
  return created;
}

/** The secrets every replica of one API server must share. */
export interface SharedSecrets {
  token: string;
  cert: string;
  key: string;
}

/**
 * Returns the token and serving certificate (both created on first use; the certificate names
 * `altNames` too) and (re)writes the kubeconfig for `serverUrl`. kubectl sends the token only to an https:// server. With `share`
 * (replicas on one etcd), the secrets are the ones `share` settles on (the first replica's), so
 * every replica's kubeconfig works against all of them; they are kept in the data directory too.
 */
export async function ensureCredentials(
  dataDir: string,
  serverUrl: string,
  share?: (mine: SharedSecrets) => Promise<SharedSecrets>,
  altNames: readonly string[] = [],
): Promise<Credentials> {
  await mkdir(dataDir, { recursive: true });
  let token = await readOrCreateToken(join(dataDir, TOKEN_FILE));
  let tls = await readOrCreateCertificate(join(dataDir, CERT_FILE), join(dataDir, KEY_FILE), altNames);
  if (share) {
    const agreed = await share({ token, cert: tls.cert, key: tls.key });
    if (agreed.token !== token) await writePrivate(join(dataDir, TOKEN_FILE), `${agreed.token}\n`);
    if (agreed.cert !== tls.cert || agreed.key !== tls.key) {
      await writePrivate(join(dataDir, KEY_FILE), agreed.key);
      await writePrivate(join(dataDir, CERT_FILE), agreed.cert);
    }
    token = agreed.token;
    tls = { cert: agreed.cert, key: agreed.key };
    const missing = namesMissingFrom(tls.cert, altNames);
    if (missing.length > 0) {
      // every replica serves this one certificate: a new name here would be one replica's only
      throw new Error(
        `--tls-san ${missing.join(',')}: the serving certificate the API server replicas share (made by the first replica and kept in etcd) does not name it; give the first replica every --tls-san the replicas need`,
      );
    }
  }
  const kubeconfigPath = join(dataDir, KUBECONFIG_FILE);
  // JSON is YAML too (kubectl reads it); clients read it without loading a YAML parser.
  await writePrivate(
    kubeconfigPath,
    `${JSON.stringify(kubeconfigDocument(serverUrl, token, tls.cert), null, 2)}\n`,
  );
  return { token, kubeconfigPath, tls };
}
