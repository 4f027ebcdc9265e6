// Reads the parts of kubeconfig files the berth client needs: the chosen context's server URL,
// CA, bearer token and default namespace. Several files merge as kubectl merges $KUBECONFIG.
// Client certificates and exec plugins are not supported.

export interface KubeconfigTarget {
  server: string;
  /** PEM of the CA that signed the server's certificate (certificate-authority-data). */
  caPem?: string;
  token?: string;
  namespace?: string;
}

export interface KubeconfigText {
  /** Names the file in errors. */
  source: string;
  text: string;
}

type Doc = Record<string, unknown>;

function asRecord(value: unknown): Doc | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Doc) : undefined;
}

/**
 * A kubeconfig document. JSON (which berth writes, and which is YAML too) is read without
 * loading the YAML parser, so client commands start fast.
 */
export async function parseKubeconfigText({ source, text }: KubeconfigText): Promise<Doc> {
  let doc: unknown;
  try {
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (err) {
    throw new Error(`invalid kubeconfig ${source}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  const config = asRecord(doc);
  if (!config) throw new Error(`invalid kubeconfig ${source}: not a mapping`);
  return config;
}

/** Named entries of clusters/users/contexts: the first file that names an entry wins, as in kubectl. */
function mergeNamed(docs: readonly Doc[], list: string, field: string): Map<string, Doc> {
  const merged = new Map<string, Doc>();
  for (const doc of docs) {
    const entries = doc[list];
    if (!Array.isArray(entries)) continue;
    for (const entry of entries as unknown[]) {
      const rec = asRecord(entry);
      const name = rec?.['name'];
      const value = asRecord(rec?.[field]);
      if (typeof name === 'string' && value && !merged.has(name)) merged.set(name, value);
    }
  }
  return merged;
}

/**
 * Pure: merged kubeconfig documents -> the target of `contextName` (--context), else of the first
 * current-context any file sets. `what` names the files in errors.
 */
export function kubeconfigTarget(docs: readonly Doc[], what: string, contextName?: string): KubeconfigTarget {
  const current = docs.map((d) => d['current-context']).find((c) => typeof c === 'string' && c !== '');
  const name = contextName ?? (current as string | undefined);
  if (name === undefined) throw new Error(`kubeconfig ${what} has no current-context (pass --context)`);
  const context = mergeNamed(docs, 'contexts', 'context').get(name);
  if (!context) throw new Error(`kubeconfig ${what}: context "${name}" not found`);
  const clusterName = context['cluster'];
  const cluster =
    typeof clusterName === 'string' ? mergeNamed(docs, 'clusters', 'cluster').get(clusterName) : undefined;
  const server = cluster?.['server'];
  if (typeof server !== 'string' || server === '') {
    throw new Error(`kubeconfig ${what}: context "${name}" has no cluster server`);
  }
  const target: KubeconfigTarget = { server };
  const caData = cluster?.['certificate-authority-data'];
  if (typeof caData === 'string' && caData !== '')
    target.caPem = Buffer.from(caData, 'base64').toString('utf8');
  const userName = context['user'];
  const user = typeof userName === 'string' ? mergeNamed(docs, 'users', 'user').get(userName) : undefined;
  const token = user?.['token'];
  if (typeof token === 'string' && token !== '') target.token = token;
  const namespace = context['namespace'];
  if (typeof namespace === 'string' && namespace !== '') target.namespace = namespace;
  return target;
}

/** Kubeconfig files (in $KUBECONFIG order) -> the target of the chosen context. */
export async function parseKubeconfigs(
  files: readonly KubeconfigText[],
  contextName?: string,
): Promise<KubeconfigTarget> {
  const docs = await Promise.all(files.map(parseKubeconfigText));
  return kubeconfigTarget(docs, files.map((f) => f.source).join(':'), contextName);
}

/** One kubeconfig file's current (or named) context. */
export function parseKubeconfig(
  text: string,
  source: string,
  contextName?: string,
): Promise<KubeconfigTarget> {
  return parseKubeconfigs([{ source, text }], contextName);
}
