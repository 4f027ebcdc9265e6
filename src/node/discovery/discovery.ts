// The discovery loop of one node agent: every period, scan each class's hostDir, create PVs for
// new disks, and scrub + delete released Delete-policy PVs (the next scan offers the disk again).
import { isStatusError } from '../../api/errors.js';
import { K } from '../../api/kinds.js';
import type { PersistentVolume } from '../../api/types.js';
import type { Clock, Logger, TimerHandle } from '../../machinery/index.js';
import type { ObjectStore } from '../../store/types.js';
import type { Exec } from '../../host/index.js';
import type { MountTableReader } from '../operations.js';
import { type DiscoveryClass, type ResolvedDiscoveryClass, resolveDiscoveryClass } from './config.js';
import { type DiscoveryAction, decideDiscovery, type DiscoveredDisk } from './decide.js';
import { scanClass } from './scan.js';
import { scrubDisk } from './scrub.js';

export interface LocalDiscoveryDeps {
  store: ObjectStore;
  nodeName: string;
  classes: readonly DiscoveryClass[];
  /** The PVs as currently known (an informer's cache). */
  volumes: () => PersistentVolume[];
  mountTable: MountTableReader;
  exec: Exec;
  clock: Clock;
  log: Logger;
  periodMs: number;
}

export class LocalDiscovery {
  private readonly deps: LocalDiscoveryDeps;
  private readonly classes: ResolvedDiscoveryClass[];
  private readonly log: Logger;
  private readonly cleaning = new Set<string>();
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(deps: LocalDiscoveryDeps) {
    this.deps = deps;
    this.classes = deps.classes.map(resolveDiscoveryClass);
    this.log = deps.log.child({ component: 'local-discovery' });
  }

  start(): void {
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.runOnce()
      .catch((err: unknown) => this.log.warn('discovery pass failed', { err }))
      .finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = this.deps.clock.setTimeout(() => this.tick(), this.deps.periodMs);
      });
  }

  /** One scan-decide-apply pass. */
  async runOnce(): Promise<void> {
    const mountPoints = new Set((await this.deps.mountTable()).map((m) => m.mountPoint));
    const disks: DiscoveredDisk[] = [];
    for (const cls of this.classes) {
      disks.push(...(await scanClass(cls, { exec: this.deps.exec, mountPoints, log: this.log })));
    }
    const actions = decideDiscovery({
      nodeName: this.deps.nodeName,
      classes: this.classes,
      disks,
      volumes: this.deps.volumes(),
      cleaning: this.cleaning,
    });
    for (const action of actions) {
      if (this.stopped) return;
      try {
        await this.apply(action, mountPoints);
      } catch (err) {
        this.log.warn('discovery action failed', { action: action.kind, err });
      }
    }
  }

  private async apply(action: DiscoveryAction, mountPoints: ReadonlySet<string>): Promise<void> {
    if (action.kind === 'Create') {
      try {
        await this.deps.store.create(K.pv, action.volume);
        this.log.info('created PV for discovered disk', {
          pv: action.volume.metadata.name,
          path: action.volume.spec.local?.path,
        });
      } catch (err) {
        if (!isStatusError(err, 'AlreadyExists')) throw err;
      }
      return;
    }
    this.cleaning.add(action.pvName);
    try {
      await scrubDisk(action, { exec: this.deps.exec, mountPoints });
      this.log.info('scrubbed released disk', { pv: action.pvName, path: action.path });
      try {
        await this.deps.store.delete(K.pv, undefined, action.pvName, action.uid ? { uid: action.uid } : {});
      } catch (err) {
        if (!isStatusError(err, 'NotFound')) throw err;
      }
    } finally {
      this.cleaning.delete(action.pvName);
    }
  }
}
