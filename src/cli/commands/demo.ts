// `berth demo` (`npm run demo`): the whole storage story on this machine, as root. An embedded
// berth with two node agents; loop-device disks for static local volumes; the manifests in
// examples/demo applied (a WaitForFirstConsumer local class, a dynamic local class, a
// StatefulSet "web" with a volumeClaimTemplate); a file written through web-0's volume survives
// the claim growing and the pod's deletion and recreation; then everything is torn down, leaving
// no mount, loop device or process behind.
import { statfsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../api/kinds.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { silentLogger } from '../../machinery/logger.js';
import { systemExec } from '../../host/index.js';
import type { ObjectStore } from '../../store/types.js';
import { parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { DEMO_DISK_ROOT, createDisks, removeDisks } from '../demo/disks.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../embedded.js';
import { packageFile } from '../paths.js';
import { startProgress } from '../progress.js';
import { runApply } from './apply.js';
import { runGet } from './get.js';

const options = { timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

const EXAMPLES_DIR = packageFile('examples/demo');
const NODES = ['node-1', 'node-2'];
const VOLUME_PATHS = 'berth.io/volume-paths';

export const NEEDS_ROOT =
  'berth demo needs root: it attaches loop devices, formats them and mounts volumes into pod ' +
  'directories, as a kubelet does. Run it as root (for example: sudo npm run demo).\n';

type Check = (store: ObjectStore) => Promise<string | true>;

/** Ctrl-C (the command's signal) ends the story at the next step; teardown then cleans up. */
function stopIfInterrupted(ctx: CommandContext): void {
  if (ctx.io.signal?.aborted) throw new Error('interrupted');
}

/** Polls until `check` answers true; shows what is still missing on a terminal, or once per change. */
async function waitFor(
  ctx: CommandContext,
  store: ObjectStore,
  what: string,
  check: Check,
  timeoutMs: number,
  interruptible = true,
) {
  const progress = startProgress(ctx.io, ctx.env, what);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    for (;;) {
      if (interruptible) stopIfInterrupted(ctx);
      const state = await check(store).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      if (state === true) return;
      if (state !== last) {
        progress.update(`${what}: ${state}`);
        if (!ctx.io.stdout.isTTY) ctx.io.stdout.write(`  waiting: ${what}: ${state}\n`);
        last = state;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${state})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    progress.stop();
  }
}

const GROWN = '64Mi';

function mib(stats: { blocks: number; bsize: number }): number {
  return Math.round((stats.blocks * stats.bsize) / 2 ** 20);
}

const volumeGrown: Check = async (store) => {
  const claim = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'www-web-0');
  const pv = await store.get<PersistentVolume>(K.pv, undefined, claim.spec.volumeName ?? '');
  const size = pv.spec.capacity?.['storage'];
  return size === GROWN ? true : `volume ${pv.metadata.name} has ${size}`;
};

const claimGrown: Check = async (store) => {
  const claim = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'www-web-0');
  const size = claim.status?.capacity?.['storage'];
  const waiting = (claim.status?.conditions ?? []).map((c) => c.type).join(', ');
  return size === GROWN ? true : `capacity ${size}${waiting ? ` (${waiting})` : ''}`;
};

function hostPath(pod: Pod, volume: string): string | undefined {
  const paths = pod.metadata.annotations?.[VOLUME_PATHS];
  return paths ? (JSON.parse(paths) as Record<string, string>)[volume] : undefined;
}

async function pods(store: ObjectStore): Promise<Pod[]> {
  return (await store.list<Pod>(K.pod, { namespace: 'default' })).items;
}

const everythingRunning: Check = async (store) => {
  const claims = (await store.list<PersistentVolumeClaim>(K.pvc, { namespace: 'default' })).items;
  const all = await pods(store);
  const running = all.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  const bound = claims.filter((c) => c.status?.phase === 'Bound');
  const want = ['example-pv-pod', 'web-0', 'web-1', 'web-2'];
  const missing = want.filter((name) => !running.some((p) => p.metadata.name === name));
  if (missing.length === 0 && bound.length === claims.length && claims.length === 4) return true;
  return `${bound.length}/${Math.max(claims.length, 4)} claims Bound, pods not yet Running: ${missing.join(', ') || 'none'}`;
};

function podRecreated(oldUid: string): Check {
  return async (store) => {
    const pod = await store.get<Pod>(K.pod, 'default', 'web-0').catch(() => undefined);
    if (!pod) return 'web-0 deleted, waiting for the StatefulSet to recreate it';
    if (pod.metadata.uid === oldUid) return 'web-0 is being deleted (volumes unpublishing)';
    return pod.status?.phase === 'Running' && hostPath(pod, 'www') ? true : 'new web-0 not yet Running';
  };
}

const nothingLeft: Check = async (store) => {
  const left = [
    ...(await pods(store)).map((p) => `pod/${p.metadata.name}`),
    ...(await store.list(K.pvc)).items.map((c) => `pvc/${c.metadata.name}`),
    ...(await store.list<PersistentVolume>(K.pv)).items
      .filter((v) => v.spec.csi !== undefined)
      .map((v) => `pv/${v.metadata.name}`),
  ];
  return left.length === 0 ? true : `still there: ${left.join(', ')}`;
};

async function deleteAll(store: ObjectStore): Promise<void> {
  await store.delete(K.sts, 'default', 'web').catch(() => undefined);
  for (const pod of await pods(store))
    await store.delete(K.pod, 'default', pod.metadata.name ?? '').catch(() => undefined);
  for (const claim of (await store.list(K.pvc)).items) {
    await store.delete(K.pvc, claim.metadata.namespace, claim.metadata.name ?? '').catch(() => undefined);
  }
}

async function story(ctx: CommandContext, berth: EmbeddedBerth, timeoutMs: number): Promise<void> {
  const out = (text: string) => ctx.io.stdout.write(text);
  const kubeconfig = ['--kubeconfig', berth.kubeconfigPath];
  stopIfInterrupted(ctx);
  out(`\n$ berth apply -f examples/demo/\n`);
  if ((await runApply(ctx, ['-f', EXAMPLES_DIR, ...kubeconfig])) !== 0) throw new Error('apply failed');
  await waitFor(ctx, berth.store, 'claims bound and pods running', everythingRunning, timeoutMs);
  out('\n$ berth get sc,pv,pvc,pods -o wide\n');
  await runGet(ctx, ['sc,pv,pvc,pods', '-o', 'wide', ...kubeconfig]);

  stopIfInterrupted(ctx);
  out('\nEach pod volume is a real mount on its node (hand these paths to a container runtime):\n');
  for (const pod of (await pods(berth.store)).sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  )) {
    const paths = JSON.parse(pod.metadata.annotations?.[VOLUME_PATHS] ?? '{}') as Record<string, string>;
    for (const [volume, path] of Object.entries(paths))
      out(`  ${pod.metadata.name} (${pod.spec.nodeName}) ${volume}: ${path}\n`);
  }

  stopIfInterrupted(ctx);
  const web0 = await berth.store.get<Pod>(K.pod, 'default', 'web-0');
  const path = hostPath(web0, 'www');
  if (!path) throw new Error('web-0 has no published www volume');
  const message = `written by berth demo through web-0's volume at ${new Date().toISOString()}\n`;
  await writeFile(join(path, 'index.html'), message);
  out(`\nwrote ${join(path, 'index.html')} (filesystem ${mib(statfsSync(path))} MiB)\n`);

  // Growing the claim: the class allows it; the resizer grows the volume, the node its filesystem
  // (online where the kernel lets it, else when web-0 is staged again below).
  stopIfInterrupted(ctx);
  out(`\n$ kubectl patch pvc www-web-0 -p '{"spec":{"resources":{"requests":{"storage":"${GROWN}"}}}}'\n`);
  const api = await RestClient.fromKubeconfig(berth.kubeconfigPath);
  await api.patch(K.pvc, 'default', 'www-web-0', { spec: { resources: { requests: { storage: GROWN } } } });
  out('persistentvolumeclaim/www-web-0 patched\n');
  await waitFor(ctx, berth.store, `the volume of www-web-0 grown to ${GROWN}`, volumeGrown, timeoutMs);

  stopIfInterrupted(ctx);
  out(`\n$ berth delete pod web-0\n`);
  await berth.store.delete(K.pod, 'default', 'web-0');
  out('pod "web-0" deleted\n');
  await waitFor(
    ctx,
    berth.store,
    'web-0 recreated by the StatefulSet',
    podRecreated(web0.metadata.uid ?? ''),
    timeoutMs,
  );
  stopIfInterrupted(ctx);
  const again = await berth.store.get<Pod>(K.pod, 'default', 'web-0');
  const newPath = hostPath(again, 'www') ?? '';
  const read = await readFile(join(newPath, 'index.html'), 'utf8');
  out(
    `the new web-0 (uid ${again.metadata.uid}) sees the same claim www-web-0 at\n  ${newPath}\n  index.html: ${read}`,
  );
  if (read !== message) throw new Error('the recreated pod does not see the file written before');
  await waitFor(ctx, berth.store, `www-web-0 to report ${GROWN}`, claimGrown, timeoutMs);
  stopIfInterrupted(ctx);
  out(`\n$ berth get pvc www-web-0\n`);
  await runGet(ctx, ['pvc', 'www-web-0', ...kubeconfig]);
  out(`its filesystem is now ${mib(statfsSync(newPath))} MiB\n`);
}

/** Mounts and loop devices that still refer to the demo's directories. */
async function leftoversOf(exec: ReturnType<typeof systemExec>, workDir: string): Promise<string[]> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .filter((line) => line.includes(workDir) || line.includes(DEMO_DISK_ROOT))
    .map((line) => `mount ${line.split(' ')[4] ?? line}`);
  const loops = (await exec.run('losetup', ['-a']).catch(() => ({ stdout: '' }))).stdout
    .split('\n')
    .filter((line) => line.includes(workDir))
    .map((line) => `loop device ${line}`);
  return [...mounts, ...loops];
}

export async function runDemo(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values } = parseCommand('demo', argv, options);
  const timeoutMs = values.timeout ? Number(values.timeout) * 1000 : 180_000;
  if (process.getuid?.() !== 0) {
    ctx.io.stderr.write(NEEDS_ROOT);
    return 1;
  }
  const exec = systemExec();
  const workDir = await mkdtemp(join(tmpdir(), 'berth-demo-'));
  const disks = await createDisks(exec, workDir, NODES);
  let berth: EmbeddedBerth | undefined;
  try {
    berth = await startEmbeddedBerth({
      dataDir: join(workDir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: NODES.map((name) => ({ name, rootDir: join(workDir, 'nodes', name) })),
    });
    ctx.io.stdout.write(
      `berth demo: embedded API at ${berth.url} with nodes ${NODES.join(', ')}; data in ${workDir}\n` +
        `(from another shell: kubectl --kubeconfig ${berth.kubeconfigPath} get pv,pvc,pods)\n`,
    );
    await story(ctx, berth, timeoutMs);
    return 0;
  } catch (err) {
    if (!ctx.io.signal?.aborted) throw err;
    ctx.io.stderr.write(
      '\ninterrupted: cleaning up (Ctrl-C again to quit at once and leave things behind)\n',
    );
    return 130;
  } finally {
    ctx.io.stdout.write(
      '\ntearing down: deleting pods and claims (volumes unpublish, unstage and are deleted)\n',
    );
    if (berth) {
      await deleteAll(berth.store);
      await waitFor(ctx, berth.store, 'teardown', nothingLeft, timeoutMs, false).catch((e: unknown) =>
        ctx.io.stderr.write(`teardown incomplete: ${e instanceof Error ? e.message : String(e)}\n`),
      );
      await berth.stop();
    }
    await removeDisks(exec, disks);
    const leftovers = await leftoversOf(exec, workDir);
    if (leftovers.length === 0) {
      await rm(workDir, { recursive: true, force: true });
      ctx.io.stdout.write('done: no mount or loop device of the demo is left, and berth has stopped\n');
    } else {
      ctx.io.stderr.write(
        `left behind (please remove by hand):\n${leftovers.map((l) => `  ${l}\n`).join('')}`,
      );
    }
  }
}
