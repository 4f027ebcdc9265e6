// cephx credentials: from the call's secrets (userID/userKey, as ceph-csi's secrets carry them) or,
// when a call brings none, from the cluster's config entry. Keys only ever go to 0600 files.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { csiError, status } from '../../csi/errors.js';
import type { ClusterConfig } from './config.js';

export interface Credentials {
  /** Without the "client." prefix. */
  userID: string;
  userKey: string;
}

const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CEPHX_KEY = /^[A-Za-z0-9+/]+={0,2}$/;

/** Credentials for a call; `what` names the secret for the error ("provisioner", "node-stage"). */
export async function resolveCredentials(
  secrets: Record<string, string> | undefined,
  cluster: ClusterConfig,
  what: string,
): Promise<Credentials> {
  const userID = secrets?.['userID'];
  const userKey = secrets?.['userKey'];
  if (userID !== undefined || userKey !== undefined) {
    if (!userID || !userKey) {
      throw csiError(status.INVALID_ARGUMENT, `the ${what} secret needs both userID and userKey`);
    }
    return checked({ userID: userID.replace(/^client\./, ''), userKey: userKey.trim() }, what);
  }
  if (cluster.userID && cluster.userKeyFile) {
    const key = (await fs.readFile(cluster.userKeyFile, 'utf8')).trim();
    return checked({ userID: cluster.userID, userKey: key }, `cluster ${cluster.clusterID} config`);
  }
  throw csiError(
    status.INVALID_ARGUMENT,
    `no credentials for cluster ${cluster.clusterID}: the ${what} secret (userID, userKey) is missing`,
  );
}

function checked(credentials: Credentials, what: string): Credentials {
  if (!USER_ID.test(credentials.userID)) {
    throw csiError(status.INVALID_ARGUMENT, `${what}: userID ${credentials.userID} is not a valid ceph user`);
  }
  if (!CEPHX_KEY.test(credentials.userKey)) {
    throw csiError(status.INVALID_ARGUMENT, `${what}: userKey is not a base64 cephx key`);
  }
  return credentials;
}

/** Private files for keys: each call writes one (0600) and removes it when the command is done. */
export class KeyFiles {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.chmod(this.dir, 0o700);
    // Files left by a crash mid-call hold keys: they go now.
    for (const name of await fs.readdir(this.dir)) await fs.rm(path.join(this.dir, name), { force: true });
  }

  /** Writes the key to a fresh file for `work`; the file is gone when the promise settles. */
  async with<T>(key: string, work: (file: string) => Promise<T>): Promise<T> {
    const file = path.join(this.dir, `key-${randomBytes(8).toString('hex')}`);
    await fs.writeFile(file, key, { mode: 0o600, flag: 'wx' });
    try {
      return await work(file);
    } finally {
      await fs.rm(file, { force: true });
    }
  }
}
