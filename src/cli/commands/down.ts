// `berth down --data-dir D [--purge]`: takes down what `berth up` left on this host for D. A
// running `berth up` holding D's lock is stopped first (SIGTERM to its PID, as Ctrl-C would).
// Then each node of D (D/nodes/<name>) has its volumes unpublished and unstaged through the node
// agent's own teardown and the built-in local driver (which detaches the loop devices it
// attached); anything still mounted under D is unmounted and any loop device whose backing file
// lies under D is detached, by device. The store keeps its objects: a later `berth up` sets the
// pods' volumes up again. --purge then deletes D, and only once nothing is mounted under it.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { DRIVER_NAME as LOCAL_DRIVER, startLocalDriver } from '../../drivers/local/index.js';
import { LoopDevices, procMountInfoReader, SystemMounter, systemExec } from '../../host/index.js';
import { tearDownNode } from '../../node/teardown.js';
import { isProcessAlive } from '../../store/lock.js';
import { openEmbeddedStore } from '../../store/embedded.js';
import { parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { parseDuration } from '../duration-flag.js';
import { UsageError } from '../io.js';
import { loggerFor } from '../process-flags.js';

const options = {
  'data-dir': { type: 'string' },
  purge: { type: 'boolean' },
  timeout: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What `berth up` writes into a data directory; a directory with none of these is not berth's. */
const BERTH_MARKERS = [
  /^wal-\d{20}\.log$/,
  /^snapshot-\d{20}\.snap$/,
  /^kubeconfig$/,
  /^apiserver-port$/,
  /^LOCK$/,
  /^nodes$/,
];

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + sep);
}

async function stopHolder(ctx: CommandContext, dir: string, timeoutMs: number): Promise<void> {
  const pid = Number.parseInt(await readFile(join(dir, 'LOCK'), 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !(await isProcessAlive(pid))) return;
  ctx.io.stdout.write(`stopping berth (pid ${pid}) that holds ${dir}\n`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (await isProcessAlive(pid)) {
    if (Date.now() > deadline)
      throw new Error(
        `berth (pid ${pid}) did not stop within ${timeoutMs / 1000}s of SIGTERM; stop it and run berth down again`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  ctx.io.stdout.write(`berth (pid ${pid}) stopped\n`);
}

export async function runDown(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('down', argv, options);
  if (positionals.length > 0) throw new UsageError(`down: unexpected argument "${positionals[0]}"`);
  const flag = values['data-dir'];
  if (!flag) throw new UsageError('down: --data-dir is required (the directory `berth up` used)');
  const timeoutMs = values.timeout === undefined ? 60_000 : parseDuration('--timeout', values.timeout);
  if (!existsSync(flag)) throw new Error(`data directory ${flag} does not exist`);
  const dir = await realpath(flag);
  const names = await readdir(dir).catch((): never => {
    throw new Error(`${flag} is not a directory`);
  });
  if (!names.some((n) => BERTH_MARKERS.some((m) => m.test(n))))
    throw new Error(
      `${flag} is not a berth data directory (no store, kubeconfig or nodes in it); nothing was touched`,
    );
  const log = loggerFor(ctx, values['log-level']);
  let did = 0;

  await stopHolder(ctx, dir, timeoutMs);
  const mountTable = procMountInfoReader();
  const exec = systemExec();
  const asRoot = process.getuid?.() === 0;
  // The store's lock keeps a new `berth up` out while the volumes are taken down.
  const store = await openEmbeddedStore({ dataDir: dir });
  try {
    const nodesDir = join(dir, 'nodes');
    const nodes = existsSync(nodesDir)
      ? (await readdir(nodesDir, { withFileTypes: true })).filter((e) => e.isDirectory())
      : [];
    for (const node of nodes) {
      const rootDir = join(nodesDir, node.name);
      const drivers = [];
      let driver: { shutdown(): Promise<void> } | undefined;
      if (asRoot) {
        const socketDir = join(rootDir, 'plugins', LOCAL_DRIVER);
        await mkdir(socketDir, { recursive: true });
        const endpoint = `unix://${join(socketDir, 'csi.sock')}`;
        driver = await startLocalDriver({
          endpoint,
          nodeId: node.name,
          dataDir: join(rootDir, 'local-volumes'),
          log,
        });
        drivers.push({ name: LOCAL_DRIVER, endpoint });
      }
      try {
        const report = await tearDownNode({ store, nodeName: node.name, rootDir, drivers, log, mountTable });
        if (report.unpublished + report.unstaged > 0) {
          ctx.io.stdout.write(
            `node ${node.name}: ${report.unpublished} volume mount(s) unpublished, ${report.unstaged} unstaged\n`,
          );
          did++;
        }
        for (const left of report.left) ctx.io.stderr.write(`node ${node.name}: left ${left}\n`);
      } finally {
        await driver?.shutdown();
      }
    }
    // What no driver took down (binds, flex mounts, a driver that is gone): deepest first.
    const mounts = (await mountTable()).map((m) => m.mountPoint).filter((p) => inside(p, dir));
    const mounter = new SystemMounter({ exec });
    for (const target of mounts.sort((a, b) => b.length - a.length)) {
      await mounter.unmount(target);
      ctx.io.stdout.write(`unmounted ${target}\n`);
      did++;
    }
    const loops = new LoopDevices({ exec });
    for (const loop of (await loops.list()).filter((l) => inside(l.backingFile, dir))) {
      await loops.detach(loop.device);
      ctx.io.stdout.write(`loop device ${loop.device} (${loop.backingFile}) detached\n`);
      did++;
    }
  } finally {
    await store.close();
  }

  if (values.purge) {
    const left = (await mountTable()).filter((m) => inside(m.mountPoint, dir));
    if (left.length > 0)
      throw new Error(
        `not deleting ${dir}: still mounted under it: ${left.map((m) => m.mountPoint).join(', ')}`,
      );
    await rm(dir, { recursive: true, force: true });
    ctx.io.stdout.write(`data directory ${dir} deleted\n`);
    return 0;
  }
  if (did === 0)
    ctx.io.stdout.write(`nothing to do: no berth process, volume mount or loop device of ${dir} is left\n`);
  return 0;
}
