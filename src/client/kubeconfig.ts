// Reads the parts of a kubeconfig the berth client needs: the current context's server URL,
// bearer token and default namespace. Client certificates and exec plugins are not supported.
import { parse } from 'yaml';

export interface KubeconfigTarget {
  server: string;
  /** PEM of the CA that signed the server's certificate (certificate-authority-data). */
  caPem?: string;
  token?: string;
  namespace?: string;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function findNamed(list: unknown, name: string, field: string): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const entry of list as unknown[]) {
    const rec = asRecord(entry);
    if (rec && rec['name'] === name) return asRecord(rec[field]);
  }
  return undefined;
}

/** Pure: kubeconfig YAML text → the current context's target. `source` names the file in errors. */
export function parseKubeconfig(text: string, source: string): KubeconfigTarget {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`invalid kubeconfig ${source}: ${(err as Error).message}`);
  }
  const config = asRecord(doc);
  if (!config) throw new Error(`invalid kubeconfig ${source}: not a mapping`);
  const contextName = config['current-context'];
  if (typeof contextName !== 'string' || contextName === '') {
    throw new Error(`kubeconfig ${source} has no current-context`);
  }
  const context = findNamed(config['contexts'], contextName, 'context');
  if (!context) throw new Error(`kubeconfig ${source}: context "${contextName}" not found`);
  const clusterName = context['cluster'];
  const cluster =
    typeof clusterName === 'string' ? findNamed(config['clusters'], clusterName, 'cluster') : undefined;
  const server = cluster?.['server'];
  if (typeof server !== 'string' || server === '') {
    throw new Error(`kubeconfig ${source}: context "${contextName}" has no cluster server`);
  }
  const target: KubeconfigTarget = { server };
  const caData = cluster?.['certificate-authority-data'];
  if (typeof caData === 'string' && caData !== '')
    target.caPem = Buffer.from(caData, 'base64').toString('utf8');
  const userName = context['user'];
  const user = typeof userName === 'string' ? findNamed(config['users'], userName, 'user') : undefined;
  const token = user?.['token'];
  if (typeof token === 'string' && token !== '') target.token = token;
  const namespace = context['namespace'];
  if (typeof namespace === 'string' && namespace !== '') target.namespace = namespace;
  return target;
}
