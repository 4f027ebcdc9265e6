// deploy/kubernetes: kustomize renders it, berth's API server accepts every object in a server-side
// dry run (as kube-apiserver would be asked), every berth command line in it parses, and every pod
// runs under a service account that holds the roles of the sidecars in it.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { parseSidecarArgs } from '../../src/cli/commands/sidecar.js';
import { splitNodePluginArgs } from '../../src/cli/commands/node-plugin.js';
import { validateNodePluginOptions } from '../../src/cli/node-plugin.js';
import { parseLocalDriverArgs } from '../../src/drivers/local/index.js';
import { parseNfsDriverArgs } from '../../src/drivers/nfs/index.js';
import { parseRbdDriverArgs } from '../../src/drivers/rbd/index.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { kubectlAvailable, startKubectlServer, type KubectlServer } from '../helpers/kubectl-server.js';
import { skipUnless } from '../helpers/skip.js';

const deployDir = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    storageCapacity?: boolean;
    template?: { spec: { serviceAccountName?: string; containers: Container[] } };
  };
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

async function rendered(): Promise<{ text: string; objects: Obj[] }> {
  const { stdout } = await execa('kubectl', ['kustomize', deployDir]);
  return { text: stdout, objects: parseAllDocuments(stdout).map((d) => d.toJSON() as Obj) };
}

async function manifestFiles(): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['', 'examples']) {
    for (const f of await readdir(join(deployDir, sub)))
      if (f.endsWith('.yaml') && f !== 'kustomization.yaml') out.push(join(deployDir, sub, f));
  }
  return out;
}

/** $(NODE_NAME) and friends as the kubelet expands them, with stand-in values. */
function expand(args: string[], container: Container): { argv: string[]; env: Record<string, string> } {
  const env = Object.fromEntries(
    (container.env ?? []).map((e) => [e.name, `value-of-${e.name.toLowerCase()}`]),
  );
  return { argv: args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_, n: string) => env[n] ?? `$(${n})`)), env };
}

const driverParsers: Record<string, (argv: string[]) => unknown> = {
  local: (argv) => parseLocalDriverArgs(argv, {}),
  nfs: (argv) => parseNfsDriverArgs(argv, {}),
  rbd: (argv) => parseRbdDriverArgs(argv, {}),
};

describe('deploy/kubernetes manifests', function () {
  this.timeout(120_000);
  let server: KubectlServer | undefined;

  before(function () {
    skipUnless(this, kubectlAvailable, 'needs kubectl');
  });
  after(async () => server?.close());

  it('kubectl kustomize renders the whole deployment', async () => {
    const { objects } = await rendered();
    const count = (kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    assert.deepEqual(count('CSIDriver'), ['local.csi.berth.io', 'nfs.csi.berth.io', 'rbd.csi.berth.io']);
    assert.deepEqual(count('ClusterRole'), [
      'berth-csi-attacher',
      'berth-csi-provisioner',
      'berth-csi-resizer',
      'berth-csi-snapshotter',
    ]);
    assert.deepEqual(count('DaemonSet'), ['berth-local-node', 'berth-nfs-node', 'berth-rbd-node']);
    assert.deepEqual(count('Deployment'), ['berth-nfs-controller', 'berth-rbd-controller']);
    assert.deepEqual(count('Role'), ['berth-csi-leader-election', 'berth-csi-provisioner-capacity']);
  });

  it('every object passes kubectl apply --dry-run=server against berth, and nothing is stored', async () => {
    server = await startKubectlServer('berth-deploy-');
    const { text } = await rendered();
    const whole = await server.kubectl(['apply', '--dry-run=server', '-f', '-'], text);
    assert.equal(whole.exitCode, 0, whole.stderr);
    assert.match(whole.stdout, /daemonset.apps\/berth-local-node created \(server dry run\)/);
    assert.match(
      whole.stdout,
      /clusterrole.rbac.authorization.k8s.io\/berth-csi-provisioner created \(server dry run\)/,
    );
    for (const file of await manifestFiles()) {
      const run = await server.kubectl(['apply', '--dry-run=server', '-f', file]);
      assert.equal(run.exitCode, 0, `${file}: ${run.stderr}`);
    }
    const after = await server.kubectl(['get', 'clusterroles,daemonsets', '-A', '-o', 'name']);
    assert.equal(after.stdout.trim(), '', 'a dry run stores nothing');
  });

  it('the RBAC kinds are served for real too: applied, read back, deleted', async () => {
    server ??= await startKubectlServer('berth-deploy-');
    await server.ok(['apply', '-f', join(deployDir, 'rbac.yaml')]);
    const roles = await server.ok(['get', 'clusterroles', '-o', 'name']);
    assert.match(roles, /clusterrole.rbac.authorization.k8s.io\/berth-csi-attacher/);
    const binding = JSON.parse(
      await server.ok([
        'get',
        'rolebinding',
        '-n',
        'kube-system',
        'berth-csi-controller-leader-election',
        '-o',
        'json',
      ]),
    ) as Obj;
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'berth-csi-leader-election',
    });
    await server.ok(['delete', '-f', join(deployDir, 'rbac.yaml')]);
  });

  it('every berth command line in a container parses as berth would run it', async () => {
    const { objects } = await rendered();
    let checked = 0;
    for (const o of objects) {
      for (const c of o.spec?.template?.spec.containers ?? []) {
        const { argv, env } = expand(c.args ?? [], c);
        const [command, ...rest] = argv;
        const where = `${o.kind}/${o.metadata.name} container ${c.name}`;
        try {
          if (command === 'sidecar') parseSidecarArgs(rest, env);
          else if (command === 'driver') driverParsers[rest[0] ?? '']!(rest.slice(1));
          else if (command === 'node-plugin') {
            const { own, driverArgs } = splitNodePluginArgs(rest);
            validateNodePluginOptions({
              driver: own.driver ?? '',
              csiAddress: own['csi-address'] ?? '',
              kubeletRegistrationPath: own['kubelet-registration-path'] ?? '',
              registrationDir: own['plugin-registration-dir'] ?? '',
              driverArgs,
              log: silentLogger,
            });
            driverParsers[own.driver ?? '']!(['--endpoint', own['csi-address'] ?? '', ...driverArgs]);
          } else assert.fail(`${where}: not a berth command: ${command}`);
        } catch (err) {
          assert.fail(`${where}: ${(err as Error).message}`);
        }
        checked++;
      }
    }
    assert.equal(checked, 15);
  });

  it("each pod's service account holds the roles of the sidecars it runs, and no node plugin holds any", async () => {
    const { objects } = await rendered();
    const bound = (account: string, kind: string, role: string) =>
      objects.some(
        (b) =>
          (b.kind === 'ClusterRoleBinding' || b.kind === 'RoleBinding') &&
          b.roleRef?.kind === kind &&
          b.roleRef.name === role &&
          b.subjects?.some(
            (s) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === 'kube-system',
          ),
      );
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'DaemonSet')) {
      const pod = o.spec!.template!.spec;
      const account = pod.serviceAccountName ?? 'default';
      const sidecars = pod.containers.filter((c) => c.args?.[0] === 'sidecar');
      for (const c of sidecars) {
        const sidecar = c.args![1]!;
        assert.ok(
          bound(account, 'ClusterRole', `berth-csi-${sidecar}`),
          `${o.metadata.name}: ${account} lacks ${sidecar}`,
        );
        if (c.args!.includes('--leader-election'))
          assert.ok(
            bound(account, 'Role', 'berth-csi-leader-election'),
            `${o.metadata.name}: ${account} lacks leases`,
          );
        if (c.args!.includes('--enable-capacity')) {
          assert.ok(
            bound(account, 'Role', 'berth-csi-provisioner-capacity'),
            `${o.metadata.name}: ${account} lacks csistoragecapacities`,
          );
          // the objects go to the pod's namespace, where the Role grants them
          const ns = c.env?.find((e) => e.name === 'NAMESPACE');
          assert.equal(
            ns?.valueFrom?.fieldRef?.fieldPath,
            'metadata.namespace',
            `${o.metadata.name}: NAMESPACE`,
          );
        }
      }
      if (sidecars.length === 0) {
        const any = objects.some((b) => b.subjects?.some((s) => s.name === account));
        assert.equal(any, false, `${o.metadata.name} runs no sidecar, yet ${account} is bound to a role`);
      }
    }
  });

  it('the local driver publishes storage capacity: its CSIDriver says so and its node provisioners do it', async () => {
    const { objects } = await rendered();
    const driver = objects.find((o) => o.kind === 'CSIDriver' && o.metadata.name === 'local.csi.berth.io');
    assert.equal(driver?.spec?.storageCapacity, true);
    const node = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'berth-local-node');
    const provisioner = node?.spec?.template?.spec.containers.find((c) => c.name === 'csi-provisioner');
    assert.ok(provisioner?.args?.includes('--enable-capacity'));
    const role = objects.find(
      (o) => o.kind === 'Role' && o.metadata.name === 'berth-csi-provisioner-capacity',
    );
    assert.equal(role?.metadata.namespace, node?.metadata.namespace);
  });
});
