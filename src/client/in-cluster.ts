// Where a component finds its API server: the --kubeconfig file it was given, else the in-cluster
// configuration every Kubernetes pod has (KUBERNETES_SERVICE_HOST/PORT, and the service-account
// token, CA and namespace mounted at /var/run/secrets/kubernetes.io/serviceaccount), as client-go
// does. The token file is read again every minute: kubelets rotate projected tokens.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeconfigTarget } from './kubeconfig.js';
import { parseKubeconfigs } from './kubeconfig.js';
import type { FetchFn } from './transport.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** client-go re-reads a bearer token file this often. */
export const TOKEN_REFRESH_MS = 60_000;

/** Where to find the API server and how to authenticate, for RestClient or RestStore. */
export interface Connection {
  /** server, CA and namespace; a token only when it never changes (a kubeconfig's). */
  target: KubeconfigTarget;
  /** The transport: adds the current service-account token in cluster. */
  fetch: FetchFn;
  /** Where it came from, for logs: the kubeconfig path or "in-cluster". */
  source: string;
}

export interface ConnectionInput {
  kubeconfig?: string | undefined;
  env: Record<string, string | undefined>;
  /** The service-account mount; injectable for tests. */
  serviceAccountDir?: string;
  now?: () => number;
}

export class NotInClusterError extends Error {
  constructor(detail: string) {
    super(`no --kubeconfig given and no in-cluster configuration: ${detail}`);
    this.name = 'NotInClusterError';
  }
}

/**
 * A long-running component's transport: undici (about half node:https's CPU per request; see
 * undici-transport.ts), loaded here so that short CLI commands never load it.
 */
async function componentFetch(caPem: string | undefined): Promise<FetchFn> {
  const { undiciFetch } = await import('./undici-transport.js');
  return undiciFetch(caPem);
}

/** --kubeconfig when given, else the in-cluster configuration. */
export async function componentConnection(input: ConnectionInput): Promise<Connection> {
  if (input.kubeconfig) {
    const text = await readFile(input.kubeconfig, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(
        `kubeconfig ${input.kubeconfig}: ${err.code === 'ENOENT' ? 'does not exist' : err.message}`,
      );
    });
    const target = await parseKubeconfigs([{ source: input.kubeconfig, text }]);
    return { target, fetch: await componentFetch(target.caPem), source: input.kubeconfig };
  }
  return inClusterConnection(input);
}

export async function inClusterConnection(input: ConnectionInput): Promise<Connection> {
  const host = input.env['KUBERNETES_SERVICE_HOST'];
  const port = input.env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    throw new NotInClusterError('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined');
  }
  const dir = input.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = join(dir, 'token');
  const token = await readToken(tokenFile).catch((err: Error) => {
    throw new NotInClusterError(err.message);
  });
  // client-go goes on without a CA it cannot read (the system's roots then decide)
  const caPem = await readFile(join(dir, 'ca.crt'), 'utf8').catch(() => undefined);
  const namespace = (await readFile(join(dir, 'namespace'), 'utf8').catch(() => '')).trim();
  const target: KubeconfigTarget = {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ...(caPem ? { caPem } : {}),
    ...(namespace ? { namespace } : {}),
  };
  return {
    target,
    fetch: withTokenFile(await componentFetch(caPem), tokenFile, token, input.now ?? Date.now),
    source: 'in-cluster',
  };
}

async function readToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot read the service-account token ${file}: ${e.code ?? e.message}`);
  }
  const token = text.trim();
  if (!token) throw new Error(`the service-account token ${file} is empty`);
  return token;
}

/**
 * Every request carries the token last read from `file`, read again once it is a minute old; a
 * failed re-read keeps the last good token (the next request tries again).
 */
export function withTokenFile(inner: FetchFn, file: string, initial: string, now: () => number): FetchFn {
  let token = initial;
  let readAt = now();
  return async (input, init = {}) => {
    if (now() - readAt >= TOKEN_REFRESH_MS) {
      readAt = now();
      token = await readToken(file).catch(() => token);
    }
    return inner(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
  };
}
