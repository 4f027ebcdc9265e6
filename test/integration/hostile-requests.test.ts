// Hostile requests against a started `berth up` (a real process), with real kubectl and a raw
// HTTPS client that sends request targets byte for byte (fetch would normalise `%2e%2e`). Every
// case asserts the status code and message, and that nothing else changed: a full dump of every
// object (but Events) before and after must be equal, apart from the changes the case expects.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { kinds } from '../../src/api/kinds.js';
import { eventually } from '../helpers/eventually.js';
import { skipUnless } from '../helpers/skip.js';

const root = join(import.meta.dirname, '..', '..');
const kubectlAvailable = await execa('kubectl', ['version', '--client'], { reject: false }).then(
  (r) => r.exitCode === 0,
  () => false,
);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Status bodies are probed field by field
  json: any;
}

/** What a case expects to have changed: keys `kind/namespace/name` of objects created, changed or gone. */
type Changes = readonly string[];

interface Case {
  name: string;
  run: () => Promise<{ status: number; message: string }>;
  status: number;
  /** A substring of the message (Status message, or kubectl's stderr/stdout). */
  message: string;
  /** Objects this case may change (an orphaning delete, ...); all others must stay as they were. */
  changes?: Changes;
  /** Waits for the expected changes to be complete before the after-dump. */
  settle?: () => Promise<void>;
}

describe('hostile requests against berth up (raw HTTPS and kubectl)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let child: ChildProcess | undefined;
  let base: URL;
  let token: string;
  let kubeconfig: string;
  let tried = 0;
  let dataChanges = 0;

  function raw(
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path,
          rejectUnauthorized: false,
          headers: {
            authorization: `Bearer ${token}`,
            // as Go clients do; Node sends a DELETE body without a length, which servers must ignore
            ...(body !== undefined
              ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
              : {}),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** A raw call as a case result: the Status message, or the text. */
  async function call(
    method: string,
    path: string,
    body?: string | Buffer,
    headers?: Record<string, string>,
  ) {
    const reply = await raw(method, path, body, headers);
    const message =
      typeof reply.json?.message === 'string' ? reply.json.message : JSON.stringify(reply.json ?? reply.text);
    return { status: reply.status, message };
  }

  async function kubectl(args: string[], input = ''): Promise<{ status: number; message: string }> {
    const r = await execa(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dataDir, 'kube-cache'), ...args],
      { reject: false, input },
    );
    return { status: r.exitCode ?? -1, message: `${r.stdout}\n${r.stderr}` };
  }

  async function dump(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const kind of kinds) {
      if (kind.kind === 'Event' || kind.kind === 'Lease') continue;
      const prefix = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
      const reply = await raw('GET', `${prefix}/${kind.plural}`);
      assert.equal(reply.status, 200, `listing ${kind.plural}: ${reply.text}`);
      type Item = {
        metadata: { namespace?: string; name: string; resourceVersion?: string };
        status?: unknown;
      };
      for (const item of reply.json.items as Item[]) {
        // a Node's status is the agent's heartbeat, not data a request could damage
        if (kind.kind === 'Node') {
          delete item.status;
          delete item.metadata.resourceVersion;
        }
        out.set(`${kind.kind}/${item.metadata.namespace ?? ''}/${item.metadata.name}`, JSON.stringify(item));
      }
    }
    return out;
  }

  function differences(before: Map<string, string>, after: Map<string, string>): string[] {
    const keys = new Set([...before.keys(), ...after.keys()]);
    return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
  }

  const ns = 'hostile';
  const cmPath = `/api/v1/namespaces/${ns}/configmaps`;
  const pvcPath = `/api/v1/namespaces/${ns}/persistentvolumeclaims`;
  const podPath = `/api/v1/namespaces/${ns}/pods`;
  const json = (o: unknown) => JSON.stringify(o);
  const configMap = (name: string, extra: Record<string, unknown> = {}) =>
    json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { a: 'b' } });
  const claim = (name: string, storage = '1Gi') => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, storageClassName: '' },
  });

  before(async function () {
    skipUnless(this, kubectlAvailable, 'kubectl is not installed');
    dataDir = await mkdtemp(join(tmpdir(), 'berth-hostile-'));
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'up', '--data-dir', dataDir, '--port', '0'],
      { cwd: root, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.resume();
    const url = await eventually(
      'berth up to listen',
      async () => /berth API listening on (\S+)\n/.exec(out)?.[1],
    );
    base = new URL(url);
    token = (await readFile(join(dataDir, 'apiserver-token'), 'utf8')).trim();
    kubeconfig = join(dataDir, 'kubeconfig');

    // the world the cases try to damage: a bound claim, a scheduled pod, a class, owners and dependents
    const seed = async (method: string, path: string, body: unknown) => {
      const reply = await raw(method, path, json(body));
      assert.ok(reply.status < 300, `${path}: ${reply.text}`);
      return reply.json;
    };
    await seed('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await seed('POST', '/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fixed' },
      provisioner: 'example.com/none',
      parameters: { tier: 'gold' },
    });
    await seed('POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-a' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        csi: { driver: 'none.example.com', volumeHandle: 'a' },
        claimRef: { namespace: ns, name: 'c1' },
      },
    });
    await seed('POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'other-pv' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        csi: { driver: 'none.example.com', volumeHandle: 'b' },
      },
    });
    await seed('POST', pvcPath, { ...claim('c1'), spec: { ...claim('c1').spec, volumeName: 'pv-a' } });
    await seed('POST', podPath, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1' },
      spec: { nodeName: 'ghost', containers: [{ name: 'c', image: 'busybox' }] },
    });
    const parent = await seed('POST', cmPath, JSON.parse(configMap('parent')));
    const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'parent', uid: parent.metadata.uid };
    await seed('POST', cmPath, JSON.parse(configMap('child', { ownerReferences: [owner] })));
    await seed('POST', cmPath, JSON.parse(configMap('cm1')));
    const fgParent = await seed('POST', cmPath, JSON.parse(configMap('fg-parent')));
    const fgOwner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'fg-parent', uid: fgParent.metadata.uid };
    await seed('POST', cmPath, JSON.parse(configMap('fg-child', { ownerReferences: [fgOwner] })));
    await eventually('c1 Bound', async () => {
      const r = await raw('GET', `${pvcPath}/c1`);
      return r.json?.status?.phase === 'Bound' ? true : undefined;
    });
    // quiet: two dumps a second apart agree
    await eventually('the cluster to settle', async () => {
      const a = await dump();
      await new Promise((r) => setTimeout(r, 1000));
      return differences(a, await dump()).length === 0 ? true : undefined;
    });
  });

  after(async function () {
    if (child?.pid && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child?.once('exit', resolve));
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    // the closing figure the issue asks for
    console.log(`      hostile cases tried: ${tried}, unexpected data changes: ${dataChanges}`);
  });

  const deep = (depth: number) =>
    `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const manifest = async (name: string, text: string) => {
    const path = join(dataDir, name);
    await writeFile(path, text);
    return path;
  };

  const cases: Case[] = [
    // ---- the cases of the issue ----
    {
      name: 'kubectl patch of a bound claim volumeName',
      run: () => kubectl(['-n', ns, 'patch', 'pvc', 'c1', '-p', '{"spec":{"volumeName":"other-pv"}}']),
      status: 1,
      message: 'spec: Forbidden: spec is immutable after creation except resources.requests',
    },
    {
      name: 'kubectl patch of a bound claim storageClassName',
      run: () => kubectl(['-n', ns, 'patch', 'pvc', 'c1', '-p', '{"spec":{"storageClassName":"fixed"}}']),
      status: 1,
      message: 'spec: Forbidden: spec is immutable after creation',
    },
    {
      name: 'kubectl patch of a scheduled pod nodeName',
      run: () => kubectl(['-n', ns, 'patch', 'pod', 'p1', '-p', '{"spec":{"nodeName":"elsewhere"}}']),
      status: 1,
      message: 'pod updates may not change fields other than',
    },
    {
      name: 'kubectl delete --dry-run=server deletes nothing',
      run: () => kubectl(['-n', ns, 'delete', 'pvc', 'c1', '--dry-run=server']),
      status: 0,
      message: 'persistentvolumeclaim "c1" deleted (server dry run)',
    },
    {
      name: 'kubectl delete --cascade=orphan keeps the dependent (and only drops its ownerReference)',
      run: () => kubectl(['-n', ns, 'delete', 'configmap', 'parent', '--cascade=orphan']),
      status: 0,
      message: 'configmap "parent" deleted',
      changes: [`ConfigMap/${ns}/parent`, `ConfigMap/${ns}/child`],
      settle: () =>
        eventually('child orphaned', async () => {
          const r = await raw('GET', `${cmPath}/child`);
          return r.status === 200 && r.json.metadata.ownerReferences === undefined ? true : undefined;
        }).then(() => undefined),
    },
    {
      name: 'DELETE propagationPolicy=Foreground: the dependent goes first, then the owner',
      run: async () => {
        const r = await raw('DELETE', `${cmPath}/fg-parent`, json({ propagationPolicy: 'Foreground' }));
        return { status: r.status, message: JSON.stringify(r.json?.metadata?.finalizers) };
      },
      status: 200,
      message: '["foregroundDeletion"]',
      changes: [`ConfigMap/${ns}/fg-parent`, `ConfigMap/${ns}/fg-child`],
      settle: () =>
        eventually('owner and dependent gone', async () => {
          const owner = await raw('GET', `${cmPath}/fg-parent`);
          const dependent = await raw('GET', `${cmPath}/fg-child`);
          return owner.status === 404 && dependent.status === 404 ? true : undefined;
        }).then(() => undefined),
    },
    {
      name: 'DELETE with a uid precondition that does not match',
      run: () => call('DELETE', `${cmPath}/cm1`, json({ preconditions: { uid: 'not-the-uid' } })),
      status: 409,
      message: 'Precondition failed: UID in precondition: not-the-uid',
    },
    {
      name: 'DELETE with a resourceVersion precondition that does not match',
      run: () => call('DELETE', `${cmPath}/cm1`, json({ preconditions: { resourceVersion: '1' } })),
      status: 409,
      message: 'Precondition failed: ResourceVersion in precondition: 1',
    },
    {
      name: 'DELETE configmaps/%2e%2e (would reach the namespace)',
      run: () => call('DELETE', `${cmPath}/%2e%2e`),
      status: 400,
      message: 'invalid path segment "..": may not be \'..\'',
    },
    {
      name: 'GET namespaces/%2e%2e (would reach discovery)',
      run: () => call('GET', '/api/v1/namespaces/%2e%2e'),
      status: 400,
      message: "may not be '..'",
    },
    {
      name: '100,000-deep JSON',
      run: () => call('POST', cmPath, deep(100_000)),
      status: 400,
      message: 'exceeded max depth of 1000',
    },
    {
      name: '5,000-deep JSON (deep enough to overflow a recursive decoder)',
      run: () => call('POST', cmPath, deep(5_000)),
      status: 400,
      message: 'exceeded max depth of 1000',
    },
    {
      name: 'a body over the 3 MiB request limit (answered, not read into memory)',
      run: () => call('POST', cmPath, Buffer.alloc(4 * 2 ** 20, 'x')),
      status: 413,
      message: 'the request is too large',
    },
    {
      name: 'annotations of 300 KiB',
      run: () => call('POST', cmPath, configMap('big', { annotations: { big: 'x'.repeat(300 * 1024) } })),
      status: 422,
      message: 'metadata.annotations: Too long: must have at most 262144 bytes',
    },
    {
      name: 'an unknown field selector',
      run: () => call('GET', `${pvcPath}?fieldSelector=spec.nonsense%3Dx`),
      status: 400,
      message: 'field label not supported: spec.nonsense',
    },
    {
      name: 'kubectl get with an unknown field selector',
      run: () => kubectl(['-n', ns, 'get', 'pvc', '--field-selector', 'spec.nonsense=x']),
      status: 1,
      message: 'field label not supported: spec.nonsense',
    },
    {
      name: 'fieldValidation=Strict names the unknown field',
      run: () => call('POST', `${cmPath}?fieldValidation=Strict`, configMap('u', { bogus: 1 })),
      status: 400,
      message: 'strict decoding error: unknown field "metadata.bogus"',
    },
    {
      name: 'fieldValidation=Strict names the duplicate field',
      run: () =>
        call(
          'POST',
          `${cmPath}?fieldValidation=Strict`,
          '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","name":"e"}}',
        ),
      status: 400,
      message: 'duplicate field "metadata.name"',
    },
    {
      name: 'fieldValidation=Warn answers with a Warning header (dry run)',
      run: async () => {
        const r = await raw(
          'POST',
          `${cmPath}?fieldValidation=Warn&dryRun=All`,
          configMap('w', { bogus: 1 }),
        );
        return { status: r.status, message: String(r.headers['warning']) };
      },
      status: 201,
      message: '299 - "unknown field \\"metadata.bogus\\""',
    },
    {
      name: 'kubectl create with an unknown field (kubectl validates strictly)',
      run: async () =>
        kubectl([
          'create',
          '-f',
          await manifest(
            'unknown.yaml',
            `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: k\n  namespace: ${ns}\nspec:\n  nonsense: 1\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n`,
          ),
        ]),
      status: 1,
      message: 'unknown field "spec.nonsense"',
    },
    {
      name: 'a quantity is answered canonical (1024Mi as 1Gi; dry run)',
      run: async () => {
        const r = await raw('POST', `${pvcPath}?dryRun=All`, json(claim('q', '1024Mi')));
        return { status: r.status, message: String(r.json?.spec?.resources?.requests?.storage) };
      },
      status: 201,
      message: '1Gi',
    },
    // ---- paths ----
    {
      name: 'upper-case %2E%2E',
      run: () => call('DELETE', `${cmPath}/%2E%2E`),
      status: 400,
      message: "may not be '..'",
    },
    {
      name: 'a %2e segment',
      run: () => call('GET', `${cmPath}/%2e`),
      status: 400,
      message: "may not be '.'",
    },
    {
      name: 'a plain .. segment',
      run: () => call('DELETE', `${cmPath}/..`),
      status: 400,
      message: "may not be '..'",
    },
    {
      name: 'dot segments climbing out of the API',
      run: () => call('GET', '/api/v1/namespaces/hostile/configmaps/../../../../version'),
      status: 400,
      message: "may not be '..'",
    },
    {
      name: 'a double-encoded dot segment',
      run: () => call('DELETE', `${cmPath}/%252e%252e`),
      status: 400,
      message: "may not contain '%'",
    },
    {
      name: 'an encoded slash',
      run: () => call('DELETE', `${cmPath}/a%2Fcm1`),
      status: 400,
      message: "may not contain '/'",
    },
    {
      name: 'an encoded slash and dots together',
      run: () => call('DELETE', `/api/v1/namespaces/${ns}%2F..%2F/configmaps/cm1`),
      status: 400,
      message: "may not contain '/'",
    },
    {
      name: 'malformed percent-encoding',
      run: () => call('GET', `${cmPath}/%E0%A4%A`),
      status: 400,
      message: 'malformed percent-encoding',
    },
    {
      name: 'a %00 in a name',
      run: () => call('DELETE', `${cmPath}/cm1%00`),
      status: 404,
      message: 'configmaps "cm1\u0000" not found',
    },
    {
      name: 'a backslash in a name',
      run: () => call('DELETE', `${cmPath}/..%5Ccm1`),
      status: 404,
      message: 'not found',
    },
    {
      name: 'an overlong name in the path',
      run: () => call('GET', `${cmPath}/${'a'.repeat(300)}`),
      status: 404,
      message: 'not found',
    },
    {
      name: 'an overlong name in a body',
      run: () => call('POST', cmPath, configMap('a'.repeat(300))),
      status: 422,
      message: 'must be no more than 253 characters',
    },
    {
      name: 'an upper-case name',
      run: () => call('POST', cmPath, configMap('Upper')),
      status: 422,
      message: 'a lowercase RFC 1123 subdomain must consist of',
    },
    {
      name: 'a namespace that cannot exist in the path',
      run: () => call('POST', '/api/v1/namespaces/NOT_A_NS/configmaps', configMap('x')),
      status: 404,
      message: 'namespaces "NOT_A_NS" not found',
    },
    {
      name: 'a unicode name',
      run: () => call('DELETE', `${cmPath}/c%C3%A9`),
      status: 404,
      message: 'not found',
    },
    {
      name: 'kubectl get of a name that is a dot segment',
      run: () => kubectl(['-n', ns, 'get', 'configmap', '..']),
      status: 1,
      message: "may not be '..'",
    },
    // ---- bodies ----
    {
      name: 'a wrong Content-Type',
      run: () => call('POST', cmPath, configMap('t'), { 'content-type': 'text/plain' }),
      status: 415,
      message: 'the body of the request was in an unknown format',
    },
    {
      name: 'malformed JSON',
      run: () => call('POST', cmPath, '{"apiVersion":'),
      status: 400,
      message: 'error decoding json',
    },
    {
      name: 'an empty body',
      run: () => call('POST', cmPath, ''),
      status: 400,
      message: 'the request body is empty',
    },
    {
      name: 'a JSON array body',
      run: () => call('POST', cmPath, '[1,2]'),
      status: 400,
      message: 'the request body must be an object',
    },
    {
      name: 'another kind at the configmaps endpoint',
      run: () => call('POST', cmPath, json(claim('x'))),
      status: 400,
      message: 'the object provided is unrecognized (must be of type ConfigMap in v1)',
    },
    {
      name: 'a namespace in the body that differs from the URL',
      run: () => call('POST', cmPath, configMap('x', { namespace: 'default' })),
      status: 400,
      message: 'does not match the namespace sent on the request',
    },
    {
      name: 'deep YAML',
      run: () =>
        call(
          'POST',
          cmPath,
          `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\nx: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
          {
            'content-type': 'application/yaml',
          },
        ),
      status: 400,
      message: 'exceeded max depth',
    },
    {
      name: 'a label key that is not a qualified name',
      run: () => call('POST', cmPath, configMap('l', { labels: { 'bad key!': 'v' } })),
      status: 422,
      message: 'metadata.labels: Invalid value: "bad key!"',
    },
    {
      name: 'an annotation key with two slashes',
      run: () => call('POST', cmPath, configMap('a2', { annotations: { 'a/b/c': 'v' } })),
      status: 422,
      message: 'metadata.annotations: Invalid value: "a/b/c"',
    },
    {
      name: 'a label value that is too long',
      run: () => call('POST', cmPath, configMap('l2', { labels: { k: 'v'.repeat(64) } })),
      status: 422,
      message: 'must be no more than 63 characters',
    },
    {
      name: 'dryRun=Bogus',
      run: () => call('POST', `${cmPath}?dryRun=Bogus`, configMap('x')),
      status: 400,
      message: 'Invalid dryRun value',
    },
    {
      name: 'fieldValidation=Bogus',
      run: () => call('POST', `${cmPath}?fieldValidation=Bogus`, configMap('x')),
      status: 400,
      message: 'fieldValidation: Unsupported value: "Bogus"',
    },
    {
      name: 'a protobuf body that is garbage',
      run: () =>
        call('POST', cmPath, Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff, 0xff]), {
          'content-type': 'application/vnd.kubernetes.protobuf',
        }),
      status: 400,
      message: 'malformed protobuf body',
    },
    // ---- updates and patches ----
    {
      name: 'PATCH with a non-patch Content-Type',
      run: () => call('PATCH', `${cmPath}/cm1`, '{"data":{"a":"c"}}', { 'content-type': 'application/json' }),
      status: 415,
      message: 'the body of the request was in an unknown format',
    },
    {
      name: 'a merge patch that is an array',
      run: () => call('PATCH', `${cmPath}/cm1`, '[1]', { 'content-type': 'application/merge-patch+json' }),
      status: 422,
      message: 'a merge patch must be a JSON object',
    },
    {
      name: 'a JSON patch testing a wrong value',
      run: () =>
        call(
          'PATCH',
          `${cmPath}/cm1`,
          json([
            { op: 'test', path: '/data/a', value: 'nope' },
            { op: 'remove', path: '/data' },
          ]),
          {
            'content-type': 'application/json-patch+json',
          },
        ),
      status: 422,
      message: 'test',
    },
    {
      name: 'an apply patch without fieldManager',
      run: () =>
        call('PATCH', `${cmPath}/cm1`, configMap('cm1'), { 'content-type': 'application/apply-patch+yaml' }),
      status: 422,
      message: 'fieldManager: Required value',
    },
    {
      name: 'PUT with a name that differs from the URL',
      run: () => call('PUT', `${cmPath}/cm1`, configMap('cm2')),
      status: 400,
      message: 'does not match the name on the URL',
    },
    {
      name: 'PUT with a stale resourceVersion',
      run: () => call('PUT', `${cmPath}/cm1`, configMap('cm1', { resourceVersion: '1' })),
      status: 409,
      message: 'the object has been modified',
    },
    {
      name: 'moving a bound volume to another claim',
      run: () =>
        call(
          'PATCH',
          '/api/v1/persistentvolumes/pv-a',
          json({ spec: { claimRef: { namespace: ns, name: 'thief', uid: 'x' } } }),
          {
            'content-type': 'application/merge-patch+json',
          },
        ),
      status: 422,
      message: 'spec.claimRef: Forbidden: may not be changed to another claim once bound',
    },
    {
      // as Kubernetes: a stale writer is told to re-read (409), whatever else its copy would break
      name: 'moving a bound volume to another claim from a stale copy',
      run: () =>
        call(
          'PUT',
          '/api/v1/persistentvolumes/pv-a',
          json({
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name: 'pv-a', resourceVersion: '1' },
            spec: {
              capacity: { storage: '1Gi' },
              accessModes: ['ReadWriteOnce'],
              csi: { driver: 'none.example.com', volumeHandle: 'a' },
              claimRef: { namespace: ns, name: 'thief', uid: 'x' },
            },
          }),
        ),
      status: 409,
      message: 'the object has been modified',
    },
    {
      name: 'changing a volume source',
      run: () =>
        call('PATCH', '/api/v1/persistentvolumes/pv-a', json({ spec: { csi: { volumeHandle: 'z' } } }), {
          'content-type': 'application/merge-patch+json',
        }),
      status: 422,
      message: 'spec.persistentvolumesource: Forbidden',
    },
    {
      name: 'changing StorageClass parameters',
      run: () =>
        call(
          'PATCH',
          '/apis/storage.k8s.io/v1/storageclasses/fixed',
          json({ parameters: { tier: 'lead' } }),
          {
            'content-type': 'application/merge-patch+json',
          },
        ),
      status: 422,
      message: 'parameters: Forbidden: updates to parameters are forbidden.',
    },
    {
      name: 'growing a claim whose class does not allow it',
      run: () =>
        call('PATCH', `${pvcPath}/c1`, json({ spec: { resources: { requests: { storage: '2Gi' } } } }), {
          'content-type': 'application/merge-patch+json',
        }),
      status: 403,
      message: 'only dynamically provisioned pvc can be resized',
    },
    {
      name: 'binding a pod that already has a node',
      run: () =>
        call(
          'POST',
          `${podPath}/p1/binding`,
          json({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1' }, target: { name: 'n2' } }),
        ),
      status: 409,
      message: 'is already assigned to node "ghost"',
    },
    {
      name: 'a binding for a claim',
      run: () => call('POST', `${pvcPath}/c1/binding`, json({ target: { name: 'n2' } })),
      status: 404,
      message: 'the server could not find the requested resource',
    },
    {
      name: 'POST to a named object',
      run: () => call('POST', `${cmPath}/cm1`, configMap('cm1')),
      status: 405,
      message: 'does not allow this method',
    },
    // ---- deletes ----
    {
      name: 'propagationPolicy=Bogus',
      run: () => call('DELETE', `${cmPath}/cm1?propagationPolicy=Bogus`),
      status: 422,
      message: 'propagationPolicy: Unsupported value: "Bogus"',
    },
    {
      name: 'gracePeriodSeconds that is not a number',
      run: () => call('DELETE', `${podPath}/p1`, json({ gracePeriodSeconds: 'soon' })),
      status: 422,
      message: 'gracePeriodSeconds: Invalid value: "soon"',
    },
    {
      name: 'a DeleteOptions body that is not JSON',
      run: () => call('DELETE', `${cmPath}/cm1`, '{'),
      status: 400,
      message: 'error decoding json',
    },
    {
      name: 'a dry-run delete answers what would be deleted',
      run: async () => {
        const r = await raw('DELETE', `${cmPath}/cm1?dryRun=All`);
        return { status: r.status, message: `${r.json?.status} ${r.json?.details?.name}` };
      },
      status: 200,
      message: 'Success cm1',
    },
    {
      name: 'a dry-run deletecollection deletes nothing',
      run: async () => {
        const r = await raw('DELETE', `${cmPath}?dryRun=All`);
        return { status: r.status, message: `${r.json?.kind} ${r.json?.items?.length}` };
      },
      status: 200,
      message: 'ConfigMapList 2', // child and cm1: parent went in the orphaning case
    },
    {
      name: 'a dry-run delete of a protected claim shows it marked for deletion',
      run: async () => {
        const r = await raw('DELETE', `${pvcPath}/c1`, json({ dryRun: ['All'] }));
        return { status: r.status, message: `deleting=${Boolean(r.json?.metadata?.deletionTimestamp)}` };
      },
      status: 200,
      message: 'deleting=true',
    },
    // ---- reads and watches ----
    {
      name: 'a malformed field selector',
      run: () => call('GET', `${cmPath}?fieldSelector=%3D%3D%3D`),
      status: 400,
      message: 'invalid field selector',
    },
    {
      name: 'a malformed label selector',
      run: () => call('GET', `${cmPath}?labelSelector=a%20in%20(`),
      status: 400,
      message: 'unable to parse label selector',
    },
    {
      name: 'a huge label selector (12 KiB, under the header limit)',
      run: () => call('GET', `${cmPath}?labelSelector=${'a'.repeat(12 * 1024)}`),
      status: 400,
      message: '(at most 63 characters)',
    },
    {
      name: 'a label selector of a thousand requirements',
      run: async () => {
        const selector = Array.from({ length: 1000 }, (_, i) => `k${i}!=v`).join(',');
        const r = await raw('GET', `${cmPath}?labelSelector=${encodeURIComponent(selector)}`);
        return { status: r.status, message: `${r.json?.items?.length}` };
      },
      status: 200,
      message: '2',
    },
    {
      name: 'a watch with a bogus resourceVersion',
      run: () => call('GET', `${cmPath}?watch=true&resourceVersion=bogus&timeoutSeconds=1`),
      status: 400,
      message: 'invalid resource version "bogus"',
    },
    {
      name: 'a watch with an unknown field selector',
      run: () => call('GET', `${cmPath}?watch=true&fieldSelector=spec.nonsense%3Dx`),
      status: 400,
      message: 'field label not supported: spec.nonsense',
    },
    {
      name: 'no token',
      run: () => call('DELETE', `${cmPath}/cm1`, undefined, { authorization: '' }),
      status: 401,
      message: 'Unauthorized',
    },
  ];

  for (const c of cases) {
    it(c.name, async function () {
      const before = await dump();
      const got = await c.run();
      tried++;
      await c.settle?.();
      const changed = differences(before, await dump());
      const unexpected = changed.filter((k) => !(c.changes ?? []).includes(k));
      dataChanges += unexpected.length;
      assert.equal(got.status, c.status, got.message);
      assert.ok(
        got.message.includes(c.message),
        `message lacks ${JSON.stringify(c.message)}: ${got.message}`,
      );
      assert.deepEqual(unexpected, [], 'objects changed that the case must not touch');
    });
  }
});
