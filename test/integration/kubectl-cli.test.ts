// The real kubectl against berth's API server (HTTPS, bearer token, the kubeconfig berth writes)
// on the real embedded store: discovery, tables, create, client- and server-side apply, yaml
// output, delete with finalizers, watch, describe, validation errors and authentication.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { ensureCredentials, startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { skipUnless } from '../helpers/skip.js';

const kubectlAvailable = await execa('kubectl', ['version', '--client'], { reject: false }).then(
  (r) => r.exitCode === 0,
  () => false,
);

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

describe('kubectl against the berth API server', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EmbeddedStore;
  let server: ApiServer;
  let kubeconfig: string;

  function kubectlArgs(args: string[], config = kubeconfig): string[] {
    return ['--kubeconfig', config, '--cache-dir', join(dir, 'kube-cache'), ...args];
  }

  async function kubectl(args: string[], input?: string, config?: string): Promise<Run> {
    // stdin is always given (possibly empty): without credentials kubectl would prompt for them
    const result = await execa('kubectl', kubectlArgs(args, config), { reject: false, input: input ?? '' });
    return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  async function ok(args: string[], input?: string): Promise<string> {
    const run = await kubectl(args, input);
    assert.equal(run.exitCode, 0, `kubectl ${args.join(' ')} failed: ${run.stderr}`);
    return run.stdout;
  }

  async function manifest(name: string, docs: object[]): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, docs.map((d) => stringify(d)).join('---\n'));
    return path;
  }

  function header(output: string): string[] {
    return (output.split('\n')[0] ?? '').trim().split(/\s{2,}/);
  }

  const claim = (name: string, extra: Record<string, unknown> = {}): object => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, labels: { app: 'one' } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...extra },
  });

  before(async function () {
    skipUnless(this, kubectlAvailable, 'kubectl is not installed');
    dir = await mkdtemp(join(tmpdir(), 'berth-kubectl-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    const { token, tls } = await ensureCredentials(dir, 'https://127.0.0.1:0');
    server = await startApiServer({
      store,
      token,
      tls,
      port: 0,
      log: (l) => process.env['APISERVER_LOG'] && console.error(l),
    });
    kubeconfig = (await ensureCredentials(dir, server.url)).kubeconfigPath;
  });

  after(async function () {
    await server?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kubectl version reports the server version', async function () {
    const out = JSON.parse(await ok(['version', '-o', 'json']));
    assert.equal(out.serverVersion.gitVersion, 'v1.32.0-berth');
    assert.equal(out.serverVersion.minor, '32');
  });

  it('kubectl create -f creates a StorageClass, a PersistentVolume and a claim', async function () {
    const path = await manifest('storage.yaml', [
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'fast', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: 'local.csi.berth.dev',
        volumeBindingMode: 'WaitForFirstConsumer',
      },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'pv1' },
        spec: {
          capacity: { storage: '2Gi' },
          accessModes: ['ReadWriteOnce'],
          hostPath: { path: '/tmp/pv1' },
        },
      },
      claim('created'),
    ]);
    const out = await ok(['create', '-f', path]);
    assert.match(out, /storageclass.storage.k8s.io\/fast created/);
    assert.match(out, /persistentvolume\/pv1 created/);
    assert.match(out, /persistentvolumeclaim\/created created/);
  });

  it('kubectl get prints the upstream columns for pv, pvc, sc, pods and va', async function () {
    await ok(
      ['create', '-f', '-'],
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web' },
        spec: { containers: [{ name: 'app', image: 'nginx' }] },
      }),
    );
    await ok(
      ['create', '-f', '-'],
      stringify({
        apiVersion: 'storage.k8s.io/v1',
        kind: 'VolumeAttachment',
        metadata: { name: 'va1' },
        spec: { attacher: 'local.csi.berth.dev', nodeName: 'node1', source: { persistentVolumeName: 'pv1' } },
      }),
    );
    const pv = await ok(['get', 'pv']);
    assert.deepEqual(header(pv), [
      'NAME',
      'CAPACITY',
      'ACCESS MODES',
      'RECLAIM POLICY',
      'STATUS',
      'CLAIM',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'REASON',
      'AGE',
    ]);
    assert.match(pv, /pv1\s+2Gi\s+RWO\s+Retain\s+Pending/);
    const pvc = await ok(['get', 'pvc', '-o', 'wide']);
    assert.deepEqual(header(pvc), [
      'NAME',
      'STATUS',
      'VOLUME',
      'CAPACITY',
      'ACCESS MODES',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'AGE',
      'VOLUMEMODE',
    ]);
    assert.match(pvc, /created\s+Pending\s+fast\s+<unset>/);
    const sc = await ok(['get', 'sc']);
    assert.deepEqual(header(sc), [
      'NAME',
      'PROVISIONER',
      'RECLAIMPOLICY',
      'VOLUMEBINDINGMODE',
      'ALLOWVOLUMEEXPANSION',
      'AGE',
    ]);
    assert.match(sc, /fast \(default\)\s+local.csi.berth.dev\s+Delete\s+WaitForFirstConsumer\s+false/);
    assert.deepEqual(header(await ok(['get', 'pods'])), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    const va = await ok(['get', 'va']);
    assert.deepEqual(header(va), ['NAME', 'ATTACHER', 'PV', 'NODE', 'ATTACHED', 'AGE']);
    assert.match(va, /va1\s+local.csi.berth.dev\s+pv1\s+node1\s+false/);
  });

  it('kubectl apply -f: created, unchanged, configured after an edit, then unchanged', async function () {
    const path = await manifest('applied.yaml', [claim('applied')]);
    assert.match(await ok(['apply', '-f', path]), /persistentvolumeclaim\/applied created/);
    assert.match(await ok(['apply', '-f', path]), /persistentvolumeclaim\/applied unchanged/);
    await manifest('applied.yaml', [
      { ...claim('applied'), metadata: { name: 'applied', labels: { app: 'two' } } },
    ]);
    assert.match(await ok(['apply', '-f', path]), /persistentvolumeclaim\/applied configured/);
    assert.match(await ok(['apply', '-f', path]), /persistentvolumeclaim\/applied unchanged/);
    const live = parse(await ok(['get', 'pvc', 'applied', '-o', 'yaml']));
    assert.deepEqual(live.metadata.labels, { app: 'two' });
    assert.ok(live.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  });

  it('kubectl apply --server-side creates and updates', async function () {
    const path = await manifest('ssa.yaml', [claim('ssa', { storageClassName: '' })]);
    assert.match(
      await ok(['apply', '--server-side', '-f', path]),
      /persistentvolumeclaim\/ssa serverside-applied/,
    );
    await manifest('ssa.yaml', [
      { ...claim('ssa', { storageClassName: '' }), metadata: { name: 'ssa', labels: { tier: 'x' } } },
    ]);
    assert.match(await ok(['apply', '--server-side', '-f', path]), /serverside-applied/);
    const live = parse(await ok(['get', 'pvc', 'ssa', '-o', 'yaml']));
    assert.equal(live.metadata.labels.tier, 'x');
    assert.equal(live.spec.storageClassName, '');
  });

  it('kubectl get -o yaml shows the stored object with admission applied', async function () {
    const live = parse(await ok(['get', 'pvc', 'created', '-o', 'yaml']));
    assert.equal(live.kind, 'PersistentVolumeClaim');
    assert.deepEqual(live.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    assert.equal(live.spec.storageClassName, 'fast');
    assert.equal(live.status.phase, 'Pending');
  });

  it("kubectl get -o json of a list names each item's kind, though the server leaves it out of the items", async function () {
    // --chunk-size=1: one item a page, so the continue tokens are followed too
    const list = parse(await ok(['get', 'pvc,sc', '-o', 'json', '--chunk-size=1'])) as {
      kind: string;
      items: { apiVersion: string; kind: string; metadata: { name: string } }[];
    };
    assert.equal(list.kind, 'List');
    const kinds = list.items.map((item) => `${item.apiVersion}/${item.kind}/${item.metadata.name}`);
    assert.ok(kinds.includes('v1/PersistentVolumeClaim/created'), kinds.join(' '));
    assert.ok(kinds.includes('storage.k8s.io/v1/StorageClass/fast'), kinds.join(' '));
  });

  it('kubectl describe pvc works (it also lists pods and events)', async function () {
    const out = await ok(['describe', 'pvc', 'created']);
    assert.match(out, /^Name:\s+created$/m);
    assert.match(out, /^StorageClass:\s+fast$/m);
    assert.match(out, /^Finalizers:\s+\[kubernetes.io\/pvc-protection\]$/m);
    assert.match(out, /^Events:/m);
  });

  it('kubectl delete leaves a claim Terminating until its finalizer is removed', async function () {
    assert.match(
      await ok(['delete', 'pvc', 'created', '--wait=false']),
      /persistentvolumeclaim "created" deleted/,
    );
    assert.match(await ok(['get', 'pvc', 'created']), /created\s+Terminating/);
    await ok([
      'patch',
      'pvc',
      'created',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    const gone = await kubectl(['get', 'pvc', 'created']);
    assert.notEqual(gone.exitCode, 0);
    assert.match(gone.stderr, /persistentvolumeclaims "created" not found/);
  });

  it('kubectl get -w prints a line for an object created while watching', async function () {
    const watcher = execa('kubectl', kubectlArgs(['get', 'pvc', '-w']), { reject: false });
    let output = '';
    let errors = '';
    watcher.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    watcher.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const seen = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!pattern.test(output)) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${pattern}; got:\n${output}${errors}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    try {
      await seen(/^NAME\s+STATUS/m);
      await ok(['create', '-f', '-'], stringify(claim('watched')));
      await seen(/^watched\s+Pending/m);
    } finally {
      watcher.kill();
      await watcher;
    }
  });

  it('kubectl create namespace/configmap/secret work (they send protobuf bodies)', async function () {
    assert.match(await ok(['create', 'namespace', 'team']), /namespace\/team created/);
    await ok(['-n', 'team', 'create', 'configmap', 'cfg', '--from-literal=a=1']);
    await ok(['-n', 'team', 'create', 'secret', 'generic', 'sec', '--from-literal=pw=hunter2']);
    assert.equal(await ok(['-n', 'team', 'get', 'cm', 'cfg', '-o', 'jsonpath={.data.a}']), '1');
    const pw = await ok(['-n', 'team', 'get', 'secret', 'sec', '-o', 'jsonpath={.data.pw}']);
    assert.equal(Buffer.from(pw, 'base64').toString(), 'hunter2');
    const missing = await kubectl(['-n', 'nowhere', 'create', 'configmap', 'x']);
    assert.match(missing.stderr, /namespaces "nowhere" not found/);
  });

  it('kubectl prints the 422 message naming the field for an invalid manifest', async function () {
    const path = await manifest('bad.yaml', [claim('bad', { accessModes: ['ReadWriteSometimes'] })]);
    const run = await kubectl(['create', '-f', path]);
    assert.notEqual(run.exitCode, 0);
    assert.match(
      run.stderr,
      /The PersistentVolumeClaim "bad" is invalid: spec\.accessModes\[0\]: Unsupported value: "ReadWriteSometimes"/,
    );
  });

  it('kubectl patch grows a bound claim only when its class allows expansion', async function () {
    const path = await manifest('resize.yaml', [
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'growable' },
        provisioner: 'example.com/csi',
        allowVolumeExpansion: true,
      },
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'fixed-size' },
        provisioner: 'example.com/csi',
      },
      claim('grows', { storageClassName: 'growable' }),
      claim('stays', { storageClassName: 'fixed-size' }),
    ]);
    await ok(['create', '-f', path]);
    for (const name of ['grows', 'stays'])
      await ok(['patch', 'pvc', name, '--subresource=status', '-p', '{"status":{"phase":"Bound"}}']);
    const bigger = '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}';
    assert.match(await ok(['patch', 'pvc', 'grows', '-p', bigger]), /persistentvolumeclaim\/grows patched/);
    const refused = await kubectl(['patch', 'pvc', 'stays', '-p', bigger]);
    assert.notEqual(refused.exitCode, 0);
    assert.match(
      refused.stderr,
      /Error from server \(Forbidden\): persistentvolumeclaims "stays" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize/,
    );
    await ok(['delete', 'pvc', 'grows', 'stays', '--wait=false']);
    await ok(['delete', 'sc', 'growable', 'fixed-size']);
  });

  // (Without any credentials kubectl asks for a username before it sends a request; requests
  // without a token are covered by the HTTP tests.)
  it('kubectl with a wrong token is refused with 401', async function () {
    const config = parse(await readFile(kubeconfig, 'utf8'));
    config.users[0].user = { token: 'not-the-token' };
    const path = join(dir, 'wrong-token-kubeconfig');
    await writeFile(path, stringify(config));
    const run = await kubectl(['get', 'pvc', '-v=6'], undefined, path);
    assert.notEqual(run.exitCode, 0);
    assert.match(run.stderr, /401 Unauthorized/);
    assert.match(run.stderr, /You must be logged in to the server \(Unauthorized\)/);
  });
});
