// A berth API server (HTTPS, token, the kubeconfig berth writes) on a fresh embedded store, and
// the real kubectl pointed at it. For integration tests of what kubectl sees.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { ensureCredentials, startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';

export const kubectlAvailable = await execa('kubectl', ['version', '--client'], { reject: false }).then(
  (r) => r.exitCode === 0,
  () => false,
);

export interface KubectlRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RawResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

export interface KubectlServer {
  dir: string;
  server: ApiServer;
  store: EmbeddedStore;
  token: string;
  kubectl(args: string[], input?: string): Promise<KubectlRun>;
  /** Runs kubectl and fails with its stderr unless it exits 0; returns stdout. */
  ok(args: string[], input?: string): Promise<string>;
  /** One HTTPS request with the token, trusting the server's certificate. */
  raw(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<RawResponse>;
  /** Writes YAML documents to a file in the test directory; returns its path. */
  manifest(name: string, docs: object[]): Promise<string>;
  close(): Promise<void>;
}

export async function startKubectlServer(prefix: string): Promise<KubectlServer> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
  const { token, tls } = await ensureCredentials(dir, 'https://127.0.0.1:0');
  const server = await startApiServer({ store, token, tls, port: 0 });
  const kubeconfig = (await ensureCredentials(dir, server.url)).kubeconfigPath;
  const kubectl = async (args: string[], input?: string): Promise<KubectlRun> => {
    const full = ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kube-cache'), ...args];
    // stdin is always given (possibly empty): without credentials kubectl would prompt for them
    const r = await execa('kubectl', full, { reject: false, input: input ?? '' });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const raw = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<RawResponse>((resolve, reject) => {
      const req = request(
        `${server.url}${path}`,
        { method, ca: tls.cert, headers: { authorization: `Bearer ${token}`, ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type']),
              body: Buffer.concat(chunks),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    dir,
    raw,
    server,
    store,
    token,
    kubectl,
    async ok(args, input) {
      const run = await kubectl(args, input);
      if (run.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${run.stderr}`);
      return run.stdout;
    },
    async manifest(name, docs) {
      const path = join(dir, name);
      await writeFile(path, docs.map((d) => stringify(d)).join('---\n'));
      return path;
    },
    async close() {
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
