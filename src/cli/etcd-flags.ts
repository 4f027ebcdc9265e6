// kube-apiserver's storage flags: --etcd-servers (comma-separated client URLs), --etcd-cafile,
// --etcd-certfile, --etcd-keyfile, --etcd-prefix; and opening the store they name.
import { readFile } from 'node:fs/promises';
import type { SharedSecrets } from '../apiserver/credentials.js';
import type { EtcdStore, EtcdTls } from '../store/etcd.js';
import { UsageError } from './io.js';

export const etcdOptions = {
  'etcd-servers': { type: 'string' },
  'etcd-cafile': { type: 'string' },
  'etcd-certfile': { type: 'string' },
  'etcd-keyfile': { type: 'string' },
  'etcd-prefix': { type: 'string' },
} as const;

export interface EtcdFlags {
  endpoints: string[];
  prefix: string;
  cafile?: string;
  certfile?: string;
  keyfile?: string;
}

type EtcdValues = Partial<Record<keyof typeof etcdOptions, string>>;

/** Pure: the etcd flags, or undefined without --etcd-servers; a usage error names a bad one. */
export function parseEtcdFlags(values: EtcdValues): EtcdFlags | undefined {
  const servers = values['etcd-servers'];
  if (servers === undefined) {
    const stray = (['etcd-cafile', 'etcd-certfile', 'etcd-keyfile', 'etcd-prefix'] as const).find(
      (flag) => values[flag] !== undefined,
    );
    if (stray) throw new UsageError(`--${stray} needs --etcd-servers`);
    return undefined;
  }
  const endpoints = servers.split(',').map((s) => s.trim());
  for (const endpoint of endpoints) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.port) {
      throw new UsageError(
        `invalid argument "${servers}" for "--etcd-servers" flag: expected URL[,URL...] like http://127.0.0.1:2379, got "${endpoint}"`,
      );
    }
  }
  if ((values['etcd-certfile'] === undefined) !== (values['etcd-keyfile'] === undefined)) {
    throw new UsageError('--etcd-certfile and --etcd-keyfile go together');
  }
  const prefix = values['etcd-prefix'] ?? '/registry';
  if (!prefix.startsWith('/') || prefix.endsWith('/')) {
    throw new UsageError(
      `invalid argument "${prefix}" for "--etcd-prefix" flag: expected /name without a trailing /`,
    );
  }
  const flags: EtcdFlags = { endpoints, prefix };
  if (values['etcd-cafile'] !== undefined) flags.cafile = values['etcd-cafile'];
  if (values['etcd-certfile'] !== undefined) flags.certfile = values['etcd-certfile'];
  if (values['etcd-keyfile'] !== undefined) flags.keyfile = values['etcd-keyfile'];
  return flags;
}

/** A file a flag names; an unreadable one is a usage error naming the flag. */
async function readFlagFile(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`invalid argument "${path}" for "--${flag}" flag: ${why}`);
  }
}

async function tlsOf(flags: EtcdFlags): Promise<EtcdTls | undefined> {
  const wantsTls = flags.endpoints.some((e) => e.startsWith('https:'));
  if (!wantsTls && flags.cafile === undefined) return undefined;
  if (flags.cafile === undefined) throw new UsageError('https etcd endpoints need --etcd-cafile');
  const tls: EtcdTls = { caPem: await readFlagFile('etcd-cafile', flags.cafile) };
  if (flags.certfile && flags.keyfile) {
    tls.certPem = await readFlagFile('etcd-certfile', flags.certfile);
    tls.keyPem = await readFlagFile('etcd-keyfile', flags.keyfile);
  }
  return tls;
}

/**
 * The store on the etcd the flags name. Not reaching it (down, not etcd, refusing our TLS) is an
 * error naming --etcd-servers and what etcd's client said, without its gRPC decorations.
 */
export async function openEtcdFromFlags(flags: EtcdFlags): Promise<EtcdStore> {
  const tls = await tlsOf(flags);
  // loaded only here: the etcd client's modules are a third of what the embedded mode would load
  const { openEtcdStore } = await import('../store/etcd.js');
  try {
    return await openEtcdStore({ endpoints: flags.endpoints, prefix: flags.prefix, ...(tls ? { tls } : {}) });
  } catch (err) {
    const why = (err as Error).message
      .replace(/^etcd: /, '')
      .replace(/\s*Resolution note:.*$/s, '')
      .replace(/,name resolution:.*$/s, '');
    throw new UsageError(`cannot use the etcd of --etcd-servers=${flags.endpoints.join(',')}: ${why}`);
  }
}

/** Replicas on one etcd settle on the first replica's token and serving certificate. */
export function shareThroughEtcd(store: EtcdStore): (mine: SharedSecrets) => Promise<SharedSecrets> {
  return async (mine) =>
    JSON.parse(await store.bootstrapValue('apiserver-credentials', JSON.stringify(mine))) as SharedSecrets;
}
