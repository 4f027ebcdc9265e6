// kubectl habits of the berth client against an embedded berth: $KUBECONFIG merging and
// --context, global flags before the subcommand, --field-selector, -o jsonpath, completion, the
// built binary talking to the server, and the API port kept in the data directory.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chosenPort, recordPort } from '../../src/cli/api-port.js';
import type { EmbeddedBerth } from '../../src/cli/embedded.js';
import { startEmbeddedBerth } from '../../src/cli/embedded.js';
import { runCli } from '../../src/cli/main.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { skipUnless } from '../helpers/skip.js';

const root = join(import.meta.dirname, '..', '..');

const manifests = `apiVersion: v1
kind: PersistentVolume
metadata: { name: pv-a, labels: { tier: fast } }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  hostPath: { path: /tmp/berth-habits/pv-a }
---
apiVersion: v1
kind: PersistentVolume
metadata: { name: pv-b }
spec:
  capacity: { storage: 2Gi }
  accessModes: [ReadWriteOnce]
  hostPath: { path: /tmp/berth-habits/pv-b }
---
apiVersion: v1
kind: Namespace
metadata: { name: team }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: team }
data: { a: "1" }
`;

describe('cli: kubectl habits', function () {
  let dir: string;
  let berth: EmbeddedBerth;

  async function cli(args: string[], env: Record<string, string | undefined> = {}) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: { KUBECONFIG: berth.kubeconfigPath, ...env },
      cwd: dir,
    });
    return { code, stdout, stderr };
  }

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-habits-'));
    berth = await startEmbeddedBerth({
      dataDir: join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: [],
    });
    await writeFile(join(dir, 'objects.yaml'), manifests);
    const applied = await cli(['apply', '-f', 'objects.yaml']);
    assert.equal(applied.code, 0, applied.stderr);
  });

  after(async function () {
    await berth?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads $KUBECONFIG, merging its files; --context picks a context', async function () {
    const ours = JSON.parse(await readFile(berth.kubeconfigPath, 'utf8')) as {
      contexts: { name: string; context: Record<string, string> }[];
    };
    // A first file that only adds a context with a namespace, pointing at berth's cluster/user.
    const base = ours.contexts[0]?.context ?? {};
    await writeFile(
      join(dir, 'extra.yaml'),
      `contexts:\n- name: team\n  context: { cluster: ${base['cluster']}, user: ${base['user']}, namespace: team }\n`,
    );
    const merged = `${join(dir, 'extra.yaml')}:${join(dir, 'missing.yaml')}:${berth.kubeconfigPath}`;
    const viaMerge = await cli(['--context', 'team', 'get', 'configmaps', '-o', 'name'], {
      KUBECONFIG: merged,
    });
    assert.equal(viaMerge.stdout, 'configmap/settings\n', viaMerge.stderr);
    const noContext = await cli(['get', 'cm', '--context=nope'], { KUBECONFIG: merged });
    assert.equal(noContext.code, 1);
    assert.match(noContext.stderr, /context "nope" not found/);
  });

  it('takes global flags before or after the subcommand', async function () {
    const before = await cli(['-n', 'team', 'get', 'cm', '-o', 'name']);
    const after = await cli(['get', 'cm', '-o', 'name', '--namespace=team']);
    assert.equal(before.stdout, 'configmap/settings\n');
    assert.deepEqual(before, after);
    const withConfig = await cli(['--kubeconfig', berth.kubeconfigPath, 'get', 'pv', '-o', 'name'], {
      KUBECONFIG: join(dir, 'nothing-here'),
    });
    assert.equal(withConfig.stdout, 'persistentvolume/pv-a\npersistentvolume/pv-b\n');
    const unknown = await cli(['--bogus', 'get', 'pv']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown flag: --bogus/);
    assert.match((await cli(['-n'])).stderr, /flag needs an argument: -n/);
  });

  it('filters with -l and --field-selector, -A lists every namespace', async function () {
    assert.equal(
      (await cli(['get', 'pv', '-l', 'tier=fast', '-o', 'name'])).stdout,
      'persistentvolume/pv-a\n',
    );
    assert.equal(
      (await cli(['get', 'pv', '--field-selector', 'metadata.name=pv-b', '-o', 'name'])).stdout,
      'persistentvolume/pv-b\n',
    );
    const all = await cli(['get', 'cm', '-A']);
    assert.match(all.stdout, /^NAMESPACE\s+NAME/);
    assert.match(all.stdout, /team\s+settings/);
  });

  it('prints -o jsonpath templates, with ranges and literals', async function () {
    assert.equal((await cli(['get', 'pv', 'pv-a', '-o', 'jsonpath={.spec.capacity.storage}'])).stdout, '1Gi');
    assert.equal((await cli(['get', 'pv', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout, 'pv-a pv-b');
    assert.equal(
      (
        await cli([
          'get',
          'pv',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.spec.capacity.storage}{"\\n"}{end}',
        ])
      ).stdout,
      'pv-a=1Gi\npv-b=2Gi\n',
    );
    const bad = await cli(['get', 'pv', '-o', 'jsonpath={range .items[*]}']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\{range\} without \{end\}/);
    assert.match((await cli(['get', 'pv', '-o', 'jsonpath='])).stderr, /allowed formats are: json,jsonpath/);
  });

  it('prints completion scripts that bash accepts', async function () {
    const bash = await cli(['completion', 'bash']);
    assert.match(bash.stdout, /complete -F _berth berth/);
    assert.match(bash.stdout, /persistentvolumeclaims/);
    assert.equal(spawnSync('bash', ['-n'], { input: bash.stdout }).status, 0);
    assert.match((await cli(['completion', 'zsh'])).stdout, /bashcompinit/);
    assert.equal((await cli(['completion', 'fish'])).code, 1);
  });

  it('the built binary answers `get pv` and `version` from the server', async function () {
    skipUnless(
      this,
      existsSync(join(root, 'dist', 'berth', 'main.js')),
      'dist/ is not built (npm run build)',
    );
    const run = promisify(execFile);
    const env = { PATH: process.env['PATH'] ?? '', KUBECONFIG: berth.kubeconfigPath };
    const got = await run(process.execPath, [join(root, 'bin', 'berth.js'), 'get', 'pv'], { env });
    assert.match(got.stdout, /^NAME\s+CAPACITY/);
    assert.match(got.stdout, /pv-b\s+2Gi/);
    const version = await run(process.execPath, [join(root, 'bin', 'berth.js'), 'version'], { env });
    assert.match(version.stdout, /Server Version: v/);
  });

  it('keeps the API port in the data directory', async function () {
    const dataDir = join(dir, 'ports');
    assert.equal(await chosenPort(dataDir, undefined), 0);
    await recordPort(join(dir, 'data'), berth.url);
    assert.equal(await chosenPort(join(dir, 'data'), undefined), Number(new URL(berth.url).port));
    assert.equal(await chosenPort(join(dir, 'data'), 7443), 7443);
    await writeFile(join(dir, 'data', 'apiserver-port'), 'garbage\n');
    await assert.rejects(
      chosenPort(join(dir, 'data'), undefined),
      /not a port: fix it or pass --secure-port/,
    );
  });
});
