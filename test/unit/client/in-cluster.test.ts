// In-cluster configuration as client-go reads it: server from KUBERNETES_SERVICE_HOST/PORT, the
// service-account token (re-read every minute), CA and namespace from the mounted directory; a
// kubeconfig flag wins; neither available is a clear error.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  componentConnection,
  inClusterConnection,
  NotInClusterError,
  TOKEN_REFRESH_MS,
  withTokenFile,
} from '../../../src/client/in-cluster.js';
import type { FetchFn, FetchInit } from '../../../src/client/transport.js';

const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('in-cluster configuration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-sa-'));
    await writeFile(join(dir, 'token'), 'token-one\n');
    await writeFile(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    await writeFile(join(dir, 'namespace'), 'kube-system');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads the service host and port, CA and namespace; the token goes on every request', async () => {
    const c = await inClusterConnection({ env, serviceAccountDir: dir });
    assert.equal(c.target.server, 'https://10.96.0.1:443');
    assert.equal(c.target.namespace, 'kube-system');
    assert.match(c.target.caPem ?? '', /BEGIN CERTIFICATE/);
    assert.equal(c.target.token, undefined, 'the token is not fixed: the transport adds it');
    assert.equal(c.source, 'in-cluster');
  });

  it('brackets an IPv6 service host', async () => {
    const c = await inClusterConnection({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
      serviceAccountDir: dir,
    });
    assert.equal(c.target.server, 'https://[fd00::1]:6443');
  });

  it('goes on without a CA or namespace file, as client-go', async () => {
    await rm(join(dir, 'ca.crt'));
    await rm(join(dir, 'namespace'));
    const c = await inClusterConnection({ env, serviceAccountDir: dir });
    assert.equal(c.target.caPem, undefined);
    assert.equal(c.target.namespace, undefined);
  });

  it('says what is missing when not in a cluster', async () => {
    for (const partial of [{}, { KUBERNETES_SERVICE_HOST: 'h' }, { KUBERNETES_SERVICE_PORT: '443' }]) {
      await assert.rejects(
        componentConnection({ env: partial, serviceAccountDir: dir }),
        (e: Error) =>
          e instanceof NotInClusterError &&
          /no --kubeconfig given.*KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined/.test(
            e.message,
          ),
      );
    }
    await rm(join(dir, 'token'));
    await assert.rejects(
      inClusterConnection({ env, serviceAccountDir: dir }),
      /cannot read the service-account token .*token: ENOENT/,
    );
    await writeFile(join(dir, 'token'), '  \n');
    await assert.rejects(inClusterConnection({ env, serviceAccountDir: dir }), /token .* is empty/);
  });

  it('a --kubeconfig wins over the in-cluster configuration; a missing one is named', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        'current-context': 'c',
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
        clusters: [{ name: 'k', cluster: { server: 'https://127.0.0.1:7000' } }],
        users: [{ name: 'u', user: { token: 'file-token' } }],
      }),
    );
    const c = await componentConnection({ kubeconfig, env, serviceAccountDir: dir });
    assert.deepEqual(c.target, { server: 'https://127.0.0.1:7000', token: 'file-token' });
    assert.equal(c.source, kubeconfig);
    await assert.rejects(
      componentConnection({ kubeconfig: join(dir, 'nope'), env }),
      /kubeconfig .*nope: does not exist/,
    );
  });

  it('reads a rotated token after a minute, and keeps the last good one if the file is briefly gone', async () => {
    let now = 0;
    const seen: string[] = [];
    const inner: FetchFn = async (_url, init?: FetchInit) => {
      seen.push(init?.headers?.['authorization'] ?? '');
      return {
        ok: true,
        status: 200,
        body: null,
        text: async () => '',
        arrayBuffer: async () => new ArrayBuffer(0),
      };
    };
    const file = join(dir, 'token');
    const f = withTokenFile(inner, file, 'token-one', () => now);
    await f('https://x/api', { headers: { accept: 'application/json' } });
    await writeFile(file, 'token-two');
    now = TOKEN_REFRESH_MS - 1;
    await f('https://x/api');
    now = TOKEN_REFRESH_MS;
    await f('https://x/api');
    await rm(file);
    now = 3 * TOKEN_REFRESH_MS;
    await f('https://x/api');
    assert.deepEqual(seen, ['Bearer token-one', 'Bearer token-one', 'Bearer token-two', 'Bearer token-two']);
  });
});
