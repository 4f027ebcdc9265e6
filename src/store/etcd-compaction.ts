// Compaction of etcd's history, as kube-apiserver does it: every interval, up to the revision seen
// one interval earlier (so a watcher always has at least one interval to resume), and, when a
// history limit is set (tests), after writes. Also answers whether a revision is compacted away.
import type { Etcd3 } from 'etcd3';
import { StatusError } from '../api/errors.js';
import { EtcdWatch } from './etcd-watch.js';
import { compileFilter } from './object-filter.js';

export interface EtcdCompactorOptions {
  client: Etcd3;
  prefix: string;
  /** 0 = never on a timer (another component compacts). */
  intervalMs: number;
  historyLimit: number | undefined;
  /** Runs one etcd request, turning its errors into the store's. */
  call<T>(request: () => Promise<T>): Promise<T>;
  currentRevision(): Promise<string>;
}

export class EtcdCompactor {
  compactedTo = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly options: EtcdCompactorOptions;

  constructor(options: EtcdCompactorOptions) {
    this.options = options;
  }

  start(): void {
    if (this.options.intervalMs <= 0) return;
    let previous = 0;
    this.timer = setInterval(() => {
      this.options
        .currentRevision()
        .then(async (now) => {
          if (previous > this.compactedTo) await this.compact(previous);
          previous = Number(now);
        })
        .catch(() => undefined); // etcd away: the next tick tries again
    }, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async afterWrite(revision: number): Promise<void> {
    const limit = this.options.historyLimit;
    if (limit === undefined) return;
    const target = revision - limit;
    const step = Math.max(1, Math.ceil(limit / 10));
    if (target - this.compactedTo >= step) await this.compact(target);
  }

  /** 410 Expired, as Kubernetes words it, when etcd no longer has the revision after `rv`. */
  async checkNotCompacted(rv: number): Promise<void> {
    const { client, prefix } = this.options;
    const current = Number(await this.options.currentRevision());
    if (rv + 1 > current) return;
    try {
      await this.options.call(() =>
        client.kv.range({ key: Buffer.from(prefix), revision: rv + 1, count_only: true }),
      );
    } catch (err) {
      if (!/compacted/.test((err as Error).message)) throw err;
      throw new StatusError(
        410,
        'Expired',
        `too old resource version: ${rv} (${await this.compactRevision(rv)})`,
      );
    }
  }

  /** etcd tells its compaction revision only to a watch that starts before it. */
  private async compactRevision(rv: number): Promise<number> {
    return new Promise((resolve) => {
      const probe = new EtcdWatch({
        client: this.options.client,
        prefix: this.options.prefix,
        filter: compileFilter({}),
        afterRevision: rv,
        onEvent: () => undefined,
        valueAt: () => Promise.resolve(undefined),
        onError: (err) => resolve(Number(/\((\d+)\)$/.exec(err.message)?.[1] ?? this.compactedTo)),
      });
      probe.start().catch(() => resolve(this.compactedTo));
      setTimeout(() => {
        probe.stop();
        resolve(this.compactedTo);
      }, 2000).unref();
    });
  }

  private async compact(revision: number): Promise<void> {
    try {
      await this.options.call(() => this.options.client.kv.compact({ revision, physical: false }));
    } catch (err) {
      // another API server compacted further already: that is as good
      if (!/compacted/.test((err as StatusError).message)) throw err;
    }
    this.compactedTo = Math.max(this.compactedTo, revision);
  }
}
