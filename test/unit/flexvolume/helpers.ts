// Shared by the FlexVolume tests: a scriptable driver (a real executable that logs every call and
// answers as a behaviour file says), and a Mounter that keeps mounts in memory for tests that must
// not need root.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifests } from '../../../src/api/manifests.js';
import type { PersistentVolume } from '../../../src/api/types.js';
import { prepareCreate } from '../../../src/api/validate.js';
import type { MountInfoEntry } from '../../../src/host/mountinfo.js';
import type { Mounter, MountOptions } from '../../../src/host/mounter.js';
import { readSeed } from '../../helpers/seeds.js';

/** The seed PersistentVolume pv-flex-nfs (M44), loaded and validated as the API server would. */
export function seedFlexVolume(): PersistentVolume {
  const [raw] = loadManifests(readSeed('M44.repaired.yaml'), 'M44.repaired.yaml');
  return prepareCreate(raw) as PersistentVolume;
}

/** How the scripted driver answers one command: what it prints, its exit code, a delay first. */
export interface Answer {
  stdout?: string;
  exit?: number;
  sleepMs?: number;
  /** Kill itself with this signal instead of answering. */
  signal?: NodeJS.Signals;
}

export interface LoggedCall {
  argv: string[];
}

const DRIVER_SOURCE = `#!/usr/bin/env node
// A scripted FlexVolume driver for tests: logs its argv, answers from behaviour.json.
const fs = require('node:fs');
const path = require('node:path');
const dir = __dirname;
fs.appendFileSync(path.join(dir, 'calls.log'), JSON.stringify({ argv: process.argv.slice(2) }) + '\\n');
const behaviour = JSON.parse(fs.readFileSync(path.join(dir, 'behaviour.json'), 'utf8'));
const answer = behaviour[process.argv[2]] ?? behaviour['*'] ?? { stdout: '{"status":"Not supported"}' };
setTimeout(() => {
  if (answer.signal) process.kill(process.pid, answer.signal);
  process.stdout.write(answer.stdout ?? '');
  process.exitCode = answer.exit ?? 0;
}, answer.sleepMs ?? 0);
`;

/** Installs a scripted driver at <pluginDir>/<vendor>~<driver>/<driver>; returns its directory. */
export async function installScriptedDriver(
  pluginDir: string,
  name: string,
  behaviour: Record<string, Answer>,
): Promise<ScriptedDriver> {
  const [vendor, driver] = name.split('/') as [string, string];
  const dir = path.join(pluginDir, `${vendor}~${driver}`);
  await fs.mkdir(dir, { recursive: true });
  // CommonJS: the driver runs with plain node, outside this package's "type": "module".
  await fs.writeFile(path.join(dir, 'package.json'), '{"type":"commonjs"}');
  await fs.writeFile(path.join(dir, 'behaviour.json'), JSON.stringify(behaviour));
  const executable = path.join(dir, driver);
  await fs.writeFile(executable, DRIVER_SOURCE, { mode: 0o755 });
  return new ScriptedDriver(dir, executable);
}

export class ScriptedDriver {
  readonly dir: string;
  readonly executable: string;

  constructor(dir: string, executable: string) {
    this.dir = dir;
    this.executable = executable;
  }

  async setBehaviour(behaviour: Record<string, Answer>): Promise<void> {
    await fs.writeFile(path.join(this.dir, 'behaviour.json'), JSON.stringify(behaviour));
  }

  async calls(): Promise<string[][]> {
    const text = await fs.readFile(path.join(this.dir, 'calls.log'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as LoggedCall).argv);
  }

  async commands(): Promise<string[]> {
    return (await this.calls()).map((argv) => argv[0] ?? '');
  }
}

export const success = (extra: Record<string, unknown> = {}): Answer => ({
  stdout: JSON.stringify({ status: 'Success', ...extra }),
});
export const notSupported: Answer = { stdout: '{"status":"Not supported"}' };
export const failure = (message: string): Answer => ({
  stdout: JSON.stringify({ status: 'Failure', message }),
  exit: 1,
});

export async function tempDir(prefix: string): Promise<string> {
  return fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
}

/** Mounts as a set of paths: enough for the host's decisions, no root needed. */
export class MemoryMounter implements Mounter {
  readonly mounts = new Map<string, { source: string; options: MountOptions; bind: boolean }>();
  readonly log: string[] = [];

  async mount(source: string, target: string, options: MountOptions = {}): Promise<void> {
    this.log.push(`mount ${source} ${target}`);
    this.mounts.set(target, { source, options, bind: false });
  }
  async bindMount(source: string, target: string, options: { readonly?: boolean } = {}): Promise<void> {
    this.log.push(`bind ${source} ${target}${options.readonly ? ' ro' : ''}`);
    this.mounts.set(target, { source, options: {}, bind: true });
  }
  async unmount(target: string): Promise<void> {
    this.log.push(`umount ${target}`);
    this.mounts.delete(target);
  }
  /** Mounts a driver (not this mounter) takes away: seen once more, then gone. */
  readonly goneAfterNextCheck = new Set<string>();

  async isMountPoint(target: string): Promise<boolean> {
    const mounted = this.mounts.has(target);
    if (this.goneAfterNextCheck.delete(target)) this.mounts.delete(target);
    return mounted;
  }
  async mountAt(target: string): Promise<MountInfoEntry | undefined> {
    const m = this.mounts.get(target);
    if (!m) return undefined;
    return {
      mountId: 1,
      parentId: 0,
      majorMinor: '0:0',
      root: '/',
      mountPoint: target,
      mountOptions: ['rw'],
      optionalFields: [],
      fsType: m.options.fsType ?? 'none',
      source: m.source,
      superOptions: [],
    };
  }
  async list(): Promise<MountInfoEntry[]> {
    const out: MountInfoEntry[] = [];
    for (const target of this.mounts.keys()) {
      const entry = await this.mountAt(target);
      if (entry) out.push(entry);
    }
    return out;
  }
}

/**
 * Writes the STAND-IN mount helper of the sample k8s~nfs driver (this kernel has no NFS client):
 * `mount -t nfs -o <mode> 10.10.0.25:/export <dir>` becomes a bind mount of `exportDir`. With
 * `logFile`, every call's arguments are appended to it.
 */
export async function writeNfsStandinHelper(
  file: string,
  exportDir: string,
  logFile?: string,
): Promise<void> {
  await fs.writeFile(
    file,
    [
      '#!/bin/sh',
      '# NFS stand-in: mount -t nfs -o <mode> 10.10.0.25:/export <dir> becomes a bind mount of a local directory',
      ...(logFile ? [`printf '%s\\n' "$*" >> ${JSON.stringify(logFile)}`] : []),
      'mode=$4 source=$5 dir=$6',
      `[ "$source" = "10.10.0.25:/export" ] || { echo "stand-in knows no export $source" >&2; exit 32; }`,
      `exec mount --bind -o "$mode" ${JSON.stringify(exportDir)} "$dir"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
}

const fixtures = path.join(import.meta.dirname, '..', '..', 'fixtures', 'flexvolume');

/** One call a logged driver received. */
export interface TimedCall {
  /** Date.now() when it started. */
  at: number;
  command: string;
}

/**
 * Installs `realDriver` as driver `name` behind the call-logger fixture, which logs every call and
 * answers "Not supported" for the `unsupported` commands; `calls()` reads the log.
 */
export async function installLoggedDriver(
  pluginDir: string,
  name: string,
  realDriver: string,
  unsupported: readonly string[] = [],
): Promise<{ dir: string; calls(): Promise<TimedCall[]> }> {
  const [vendor, driver] = name.split('/') as [string, string];
  const dir = path.join(pluginDir, `${vendor}~${driver}`);
  await fs.mkdir(dir, { recursive: true });
  await fs.copyFile(realDriver, path.join(dir, 'real-driver'));
  await fs.chmod(path.join(dir, 'real-driver'), 0o755);
  if (unsupported.length > 0)
    await fs.writeFile(path.join(dir, 'unsupported'), unsupported.join('\n') + '\n');
  // the logger goes in last: the driver is found (and init run) only once it is complete
  await fs.copyFile(path.join(fixtures, 'call-logger'), path.join(dir, `.${driver}`));
  await fs.chmod(path.join(dir, `.${driver}`), 0o755);
  await fs.rename(path.join(dir, `.${driver}`), path.join(dir, driver));
  return {
    dir,
    calls: async () => {
      const text = await fs.readFile(path.join(dir, 'calls.log'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [at, command] = l.split(' ');
          return { at: Number(at), command: command ?? '' };
        });
    },
  };
}
