// One informer per kind per process, shared by every controller in it (controller-runtime's
// manager cache, client-go's SharedInformerFactory): one list+watch and one copy of each object,
// however many controllers read them. A controller takes what it reads through ControllerInformers,
// which remembers the handlers it added so that stopping the controller removes them while the
// informers go on serving the others; the composition root stops the cache itself last.
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { ObjectStore } from '../store/types.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { IndexDef } from './indexed-cache.js';
import type { HandlerOptions, InformerHandlers } from './informer.js';
import { Informer } from './informer.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

export interface SharedInformerCacheOptions {
  store: ObjectStore;
  clock?: Clock;
  logger?: Logger;
}

function informerId(kind: KindInfo): string {
  return `${kind.group}/${kind.version}/${kind.plural}`;
}

export class SharedInformerCache {
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly informers = new Map<string, Informer>();
  private stopped = false;

  constructor(options: SharedInformerCacheOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
  }

  /** The one informer of `kind` (made on first ask; started by whoever first waits for it). */
  informer<T extends KubeObject>(kind: KindInfo): Informer<T> {
    if (this.stopped) throw new Error('the shared informer cache is stopped');
    const id = informerId(kind);
    let informer = this.informers.get(id);
    if (!informer) {
      informer = new Informer({
        store: this.store,
        kind,
        clock: this.clock,
        logger: this.log,
        // no controller reads them: cached, and sent back in updates, without them
        stripManagedFields: true,
      });
      this.informers.set(id, informer);
    }
    return informer as unknown as Informer<T>;
  }

  /** The informer of `kind` if something asked for one already (else undefined: none is made). */
  existing<T extends KubeObject>(kind: KindInfo): Informer<T> | undefined {
    return this.informers.get(informerId(kind)) as unknown as Informer<T> | undefined;
  }

  /** How many informers (so list+watch streams) this cache runs. */
  get size(): number {
    return this.informers.size;
  }

  /** Stops every informer. Controllers using them are stopped first. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}

export interface ControllerInformersOptions {
  /** The process's shared cache; without one the controller gets a cache of its own. */
  shared?: SharedInformerCache | undefined;
  /** For the cache of its own. */
  store: ObjectStore;
  clock?: Clock;
  logger?: Logger;
}

/** The informers one controller reads, and the handlers it added to them. */
export class ControllerInformers {
  private readonly cache: SharedInformerCache;
  private readonly ownsCache: boolean;
  private readonly used = new Set<Informer<KubeObject>>();
  private readonly removers: (() => void)[] = [];

  constructor(options: ControllerInformersOptions) {
    this.ownsCache = options.shared === undefined;
    this.cache =
      options.shared ??
      new SharedInformerCache({
        store: options.store,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      });
  }

  /** The shared informer of `kind`, with these indexes added (once, whoever adds them first). */
  informer<T extends KubeObject>(kind: KindInfo, ...indexes: IndexDef<T>[]): Informer<T> {
    const informer = this.cache.informer<T>(kind);
    for (const index of indexes) informer.addIndex(index);
    this.used.add(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  /** Adds handlers this controller's stop() removes again. */
  on<T extends KubeObject>(
    informer: Informer<T>,
    handlers: InformerHandlers<T>,
    options?: HandlerOptions<T>,
  ): void {
    this.removers.push(informer.addHandler(handlers, options));
  }

  /** Starts the informers this controller reads (shared ones may run already) and waits for their first list. */
  async sync(): Promise<void> {
    for (const informer of this.used) informer.start();
    await Promise.all([...this.used].map((i) => i.waitForSync()));
  }

  /** Removes this controller's handlers; a cache of its own is stopped too. */
  async close(): Promise<void> {
    for (const remove of this.removers.splice(0)) remove();
    if (this.ownsCache) await this.cache.stop();
  }
}
