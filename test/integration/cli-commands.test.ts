// The client commands against a real `berth up` process: the commands run in-process through
// runCli (fast), the API server and store run in the child process as a user would run them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindFor } from '../../src/api/kinds.js';
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/main.js';
import { RestClient } from '../../src/client/rest.js';

const root = join(import.meta.dirname, '..', '..');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const storageClass = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: manual
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
`;

function volume(name: string, size: string): string {
  return `apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${name}
  labels: { size: "${size}" }
spec:
  storageClassName: manual
  capacity: { storage: ${size} }
  accessModes: [ReadWriteOnce]
  hostPath: { path: /tmp/berth-cli-test/${name} }
`;
}

function claim(name: string, size: string, labels = ''): string {
  return `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}
${labels ? `  labels: { ${labels} }\n` : ''}spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: ${size} } }
`;
}

describe('cli: client commands against berth up', function () {
  let dataDir: string;
  let workDir: string;
  let up: ChildProcess;
  let client: RestClient;

  async function cli(
    args: string[],
    options: { stdin?: string; signal?: AbortSignal } = {},
  ): Promise<CliResult> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: { BERTH_DATA_DIR: dataDir },
      cwd: workDir,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.stdin !== undefined
        ? {
            stdin: (async function* () {
              yield options.stdin ?? '';
            })(),
          }
        : {}),
    };
    const code = await runCli(args, io);
    return { code, stdout, stderr };
  }

  async function write(name: string, text: string): Promise<string> {
    await writeFile(join(workDir, name), text);
    return name;
  }

  before(async function () {
    this.timeout(90_000);
    dataDir = await mkdtemp(join(tmpdir(), 'berth-cli-data-'));
    workDir = await mkdtemp(join(tmpdir(), 'berth-cli-work-'));
    up = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'up', '--data-dir', dataDir, '--port', '0'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    up.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    up.stderr?.resume();
    // a loaded machine may take longer than a quiet one to load the modules and open the store
    const deadline = Date.now() + 80_000;
    while (!/export KUBECONFIG=(\S+)\n/.test(out)) {
      if (up.exitCode !== null || Date.now() > deadline) throw new Error(`berth up did not start: ${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const kubeconfig = /kubeconfig: (\S+)\n/.exec(out)?.[1];
    assert.equal(kubeconfig, join(dataDir, 'kubeconfig'));
    client = await RestClient.fromKubeconfig(kubeconfig);
  });

  after(async function () {
    if (up.exitCode === null && up.pid) {
      const exited = new Promise((resolve) => up.once('exit', resolve));
      process.kill(up.pid, 'SIGTERM');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('apply creates, then reports unchanged, then configured', async function () {
    await write('sc.yaml', storageClass);
    await write('pvs.yaml', `${volume('pv-small', '1Gi')}---\n${volume('pv-large', '5Gi')}`);
    await write('claim.yaml', claim('claim1', '1Gi', 'app: web'));
    const created = await cli(['apply', '-f', 'sc.yaml', '-f', 'pvs.yaml', '-f', 'claim.yaml']);
    assert.equal(created.stderr, '');
    assert.equal(created.code, 0);
    assert.equal(
      created.stdout,
      'storageclass.storage.k8s.io/manual created\npersistentvolume/pv-small created\npersistentvolume/pv-large created\npersistentvolumeclaim/claim1 created\n',
    );

    const again = await cli(['apply', '-f', 'claim.yaml']);
    assert.equal(again.stdout, 'persistentvolumeclaim/claim1 unchanged\n');

    await write('claim.yaml', claim('claim1', '1Gi', 'app: web, tier: data'));
    assert.equal(
      (await cli(['apply', '-f', 'claim.yaml'])).stdout,
      'persistentvolumeclaim/claim1 configured\n',
    );
    const pvc = kindFor('v1', 'PersistentVolumeClaim')!;
    assert.deepEqual((await client.get(pvc, 'default', 'claim1')).metadata.labels, {
      app: 'web',
      tier: 'data',
    });

    // A label the manifest no longer has is removed (three-way apply).
    await write('claim.yaml', claim('claim1', '1Gi', 'app: web'));
    assert.equal(
      (await cli(['apply', '-f', 'claim.yaml'])).stdout,
      'persistentvolumeclaim/claim1 configured\n',
    );
    assert.deepEqual((await client.get(pvc, 'default', 'claim1')).metadata.labels, { app: 'web' });
  });

  it('apply reads a directory in name order and stdin', async function () {
    const dir = join(workDir, 'dir');
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    await writeFile(join(dir, 'b.yaml'), claim('dir-b', '1Gi'));
    await writeFile(join(dir, 'a.yml'), claim('dir-a', '1Gi'));
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
    const result = await cli(['apply', '-f', 'dir']);
    assert.equal(result.stdout, 'persistentvolumeclaim/dir-a created\npersistentvolumeclaim/dir-b created\n');

    const piped = await cli(['apply', '-f', '-'], { stdin: claim('from-stdin', '1Gi') });
    assert.equal(piped.stdout, 'persistentvolumeclaim/from-stdin created\n');
  });

  it('create fails on an existing object with the server error, and rejects a namespace mismatch', async function () {
    const result = await cli(['create', '-f', 'claim.yaml']);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'Error from server (AlreadyExists): error when creating "claim.yaml": persistentvolumeclaims "claim1" already exists\n',
    );
    await write('ns.yaml', claim('c', '1Gi').replace('name: c\n', 'name: c\n  namespace: other\n'));
    const mismatch = await cli(['apply', '-n', 'default', '-f', 'ns.yaml']);
    assert.equal(mismatch.code, 1);
    assert.match(
      mismatch.stderr,
      /the namespace from the provided object "other" does not match the namespace "default"/,
    );
  });

  it('apply names the bad document of a manifest', async function () {
    await write(
      'bad.yaml',
      `${claim('ok', '1Gi')}---\napiVersion: v1\nkind: Widget\nmetadata: { name: w }\n`,
    );
    const result = await cli(['apply', '-f', 'bad.yaml']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad\.yaml/);
    assert.match(result.stderr, /no matches for kind "Widget" in version "v1"/);
    assert.equal(result.stdout, '');
  });

  it('get prints the server tables like kubectl', async function () {
    const pvcs = await cli(['get', 'pvc']);
    assert.equal(pvcs.code, 0);
    const lines = pvcs.stdout.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^NAME {3,}STATUS {3,}VOLUME {3,}CAPACITY {3,}ACCESS MODES {3,}STORAGECLASS {3,}.*AGE$/,
    );
    // the PV controller of `berth up` may already have bound it to pv-small
    assert.ok(
      lines.some((l) => /^claim1 {3,}(Pending|Bound {3,}pv-small) {3,}/.test(l)),
      pvcs.stdout,
    );

    const several = await cli(['get', 'sc,pv,pvc']);
    const blocks = several.stdout.trimEnd().split('\n\n');
    assert.equal(blocks.length, 3);
    assert.match(
      blocks[0] ?? '',
      /^NAME {3,}PROVISIONER.*\nstorageclass\.storage\.k8s\.io\/manual {3,}kubernetes\.io\/no-provisioner/,
    );
    assert.match(blocks[1] ?? '', /\npersistentvolume\/pv-large {3,}5Gi/);
    assert.match(blocks[2] ?? '', /\npersistentvolumeclaim\/claim1 {3,}/);

    const wide = await cli(['get', 'pvc', 'claim1', '-o', 'wide']);
    assert.match(wide.stdout, /VOLUMEMODE/);
    assert.equal(wide.stdout.trimEnd().split('\n').length, 2);

    const all = await cli(['get', 'pvc', '-A']);
    assert.match(all.stdout, /^NAMESPACE {3,}NAME {3,}STATUS/);
    assert.match(all.stdout, /\ndefault {3,}claim1 {3,}/);

    const selected = await cli(['get', 'pv', '-l', 'size=1Gi', '-o', 'name']);
    assert.equal(selected.stdout, 'persistentvolume/pv-small\n');
  });

  it('get prints objects as yaml, json and names', async function () {
    const yaml = await cli(['get', 'pvc', 'claim1', '-o', 'yaml']);
    assert.match(yaml.stdout, /^apiVersion: v1\nkind: PersistentVolumeClaim\n/);
    const json = JSON.parse((await cli(['get', 'pv', '-o', 'json'])).stdout) as {
      kind: string;
      items: { kind: string }[];
    };
    assert.equal(json.kind, 'List');
    assert.ok(json.items.length >= 2 && json.items.every((i) => i.kind === 'PersistentVolume'));
    assert.equal((await cli(['get', 'sc', '-o', 'name'])).stdout, 'storageclass.storage.k8s.io/manual\n');
  });

  it('get reports missing objects, empty namespaces and unknown kinds like kubectl', async function () {
    const missing = await cli(['get', 'pvc', 'nope']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error from server (NotFound): persistentvolumeclaims "nope" not found\n');
    const empty = await cli(['get', 'pvc', '-n', 'kube-system']);
    assert.equal(empty.code, 0);
    assert.equal(empty.stderr, 'No resources found in kube-system namespace.\n');
    const unknown = await cli(['get', 'widgets']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'error: the server doesn\'t have a resource type "widgets"\n');
    const badOutput = await cli(['get', 'pvc', '-o', 'toml']);
    assert.equal(badOutput.code, 1);
    assert.match(badOutput.stderr, /output format "toml"/);
    const badFlag = await cli(['get', 'pvc', '--bogus']);
    assert.equal(badFlag.code, 1);
    assert.match(badFlag.stderr, /Unknown option '--bogus'/);
  });

  it('describe shows details and the object events', async function () {
    const eventKind = kindFor('v1', 'Event')!;
    const pvc = kindFor('v1', 'PersistentVolumeClaim')!;
    const live = await client.get(pvc, 'default', 'claim1');
    const at = (minutesAgo: number): string =>
      new Date(Date.now() - minutesAgo * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await client.create(eventKind, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'claim1.1', namespace: 'default' },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: 'default',
        name: 'claim1',
        uid: live.metadata.uid,
      },
      type: 'Warning',
      reason: 'ProvisioningFailed',
      message: 'storageclass.storage.k8s.io "fast" not found',
      source: { component: 'persistentvolume-controller' },
      count: 3,
      firstTimestamp: at(5),
      lastTimestamp: at(1),
    });
    // An event about another object must not show up.
    await client.create(eventKind, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'other.1', namespace: 'default' },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: 'default',
        name: 'dir-a',
      },
      type: 'Normal',
      reason: 'Other',
      message: 'x',
      source: { component: 'test' },
      firstTimestamp: at(1),
      lastTimestamp: at(1),
    });
    const result = await cli(['describe', 'pvc', 'claim1']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Name: +claim1$/m);
    assert.match(result.stdout, /^Namespace: +default$/m);
    assert.match(result.stdout, /^StorageClass: +manual$/m);
    assert.match(result.stdout, /^Labels: +app=web$/m);
    assert.match(result.stdout, /^Events:\n {2}Type +Reason +Age +From +Message\n {2}-+ +-+/m);
    assert.match(
      result.stdout,
      /^ {2}Warning +ProvisioningFailed +6\ds \(x3 over 5m\d*s?\) +persistentvolume-controller +storageclass\.storage\.k8s\.io "fast" not found$/m,
    );
    assert.doesNotMatch(result.stdout, /Other/);

    const pv = await cli(['describe', 'pv/pv-small']);
    assert.match(pv.stdout, /^Capacity: +1Gi$/m);
    assert.match(pv.stdout, /^ {4}Type: +HostPath \(bare host directory volume\)$/m);
    assert.match(pv.stdout, /^Events: +<none>$/m);

    const sc = await cli(['describe', 'sc', 'manual']);
    assert.match(sc.stdout, /^Provisioner: +kubernetes\.io\/no-provisioner$/m);

    const missing = await cli(['describe', 'pvc', 'nope']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error from server (NotFound): persistentvolumeclaims "nope" not found\n');
  });

  it('wait meets a jsonpath condition, times out on an unmet one, and fails on a missing object', async function () {
    const met = await cli(['wait', "--for=jsonpath='{.spec.storageClassName}'=manual", 'pvc/claim1']);
    assert.equal(met.stderr, '');
    assert.equal(met.stdout, 'persistentvolumeclaim/claim1 condition met\n');
    const started = Date.now();
    const timeout = await cli([
      'wait',
      '--for=jsonpath={.status.phase}=Lost',
      'pvc',
      'claim1',
      '--timeout=300ms',
    ]);
    assert.equal(timeout.code, 1);
    assert.ok(Date.now() - started < 5000);
    assert.equal(
      timeout.stderr,
      'error: timed out waiting for the condition on persistentvolumeclaims/claim1\n',
    );
    const missing = await cli(['wait', '--for=condition=Ready', 'pvc/nope', '--timeout=1s']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error from server (NotFound): persistentvolumeclaims "nope" not found\n');
    const usage = await cli(['wait', 'pvc/claim1']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /--for is required/);
  });

  it('delete removes objects; --wait and wait --for=delete wait for finalizers to go', async function () {
    const deleted = await cli(['delete', 'sc', 'manual']);
    assert.equal(deleted.stdout, 'storageclass.storage.k8s.io "manual" deleted\n');
    const gone = await cli(['delete', 'sc', 'manual']);
    assert.equal(gone.code, 1);
    assert.equal(
      gone.stderr,
      'Error from server (NotFound): storageclasses.storage.k8s.io "manual" not found\n',
    );

    // A finalizer keeps a deleted claim until it is removed (the PV controller lifts
    // pvc-protection at once here, since no pod uses the claim, so hold it with our own).
    const pvc = kindFor('v1', 'PersistentVolumeClaim')!;
    const held = await client.get(pvc, 'default', 'dir-a');
    await client.patch(pvc, 'default', 'dir-a', {
      metadata: { finalizers: [...(held.metadata.finalizers ?? []), 'example.com/hold'] },
    });
    let finished = false;
    const deleting = cli(['delete', 'pvc', 'dir-a', '--wait', '--timeout=20s']).then((r) => {
      finished = true;
      return r;
    });
    const waiting = cli(['wait', '--for=delete', 'pvc/dir-a', '--timeout=20s']);
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(finished, false);
    assert.ok((await client.get(pvc, 'default', 'dir-a')).metadata.deletionTimestamp);
    await client.patch(pvc, 'default', 'dir-a', { metadata: { finalizers: null } });
    const result = await deleting;
    assert.equal(result.code, 0);
    assert.equal(result.stdout, 'persistentvolumeclaim "dir-a" deleted\n');
    assert.equal((await waiting).stdout, 'persistentvolumeclaim/dir-a condition met\n');

    const fromFile = await cli(['delete', '-f', 'pvs.yaml']);
    assert.equal(
      fromFile.stdout,
      'persistentvolume "pv-small" deleted\npersistentvolume "pv-large" deleted\n',
    );
  });

  it('get -w prints changes until stopped', async function () {
    const stop = new AbortController();
    let stdout = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => undefined },
      env: { BERTH_DATA_DIR: dataDir },
      cwd: workDir,
      signal: stop.signal,
    };
    const watching = runCli(['get', 'pvc', '-w'], io);
    const until = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(stdout)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    await until(/^NAME .*\n(.*\n)*claim1 /);
    await cli(['apply', '-f', '-'], { stdin: claim('watched', '2Gi') });
    await until(/\nwatched {3,}Pending/);
    stop.abort();
    assert.equal(await watching, 0);
    assert.equal(stdout.match(/^NAME /gm)?.length, 1);
  });

  it('version prints client and server versions', async function () {
    const result = await cli(['version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Client Version: v\d+\.\d+\.\d+\nServer Version: v\S+\n$/);
  });

  it('reports an unreachable API in plain words', async function () {
    const kubeconfig = join(workDir, 'dead-kubeconfig');
    // A port that was free a moment ago: nothing listens there.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    await writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const result = await cli(['get', 'pvc', '--kubeconfig', kubeconfig]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `error: cannot reach the berth API at http://127.0.0.1:${port}: is \`berth up\` running?\n`,
    );
  });
});
