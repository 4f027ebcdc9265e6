// A real provisioning world for integration tests and the benchmark: the embedded store in a temp
// dir, the PV controller, the provisioner, and the mock CSI driver on a unix socket.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kindFor } from '../../../src/api/kinds.js';
import type { KindInfo } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type { Event, PersistentVolume, PersistentVolumeClaim } from '../../../src/api/types.js';
import { CsiClient } from '../../../src/csi/client.js';
import type { CsiClientOptions } from '../../../src/csi/client.js';
import type { Clock } from '../../../src/machinery/clock.js';
import type { Logger } from '../../../src/machinery/logger.js';
import { Provisioner } from '../../../src/provisioner/controller.js';
import type { ProvisionerDeps } from '../../../src/provisioner/controller.js';
import { PvController } from '../../../src/pv-controller/controller.js';
import type { EmbeddedStore } from '../../../src/store/embedded.js';
import { openEmbeddedStore } from '../../../src/store/embedded.js';
import type { ObjectStore } from '../../../src/store/types.js';
import { startMockDriver } from '../../mock-driver/driver.js';
import type { MockDriverOptions, StartedMockDriver } from '../../mock-driver/driver.js';

export const DRIVER = 'mock.csi.berth.dev';

export function kind(apiVersion: string, name: string): KindInfo {
  const info = kindFor(apiVersion, name);
  if (!info) throw new Error(`no kind ${name}`);
  return info;
}

export const K = {
  claim: kind('v1', 'PersistentVolumeClaim'),
  volume: kind('v1', 'PersistentVolume'),
  secret: kind('v1', 'Secret'),
  node: kind('v1', 'Node'),
  event: kind('v1', 'Event'),
  storageClass: kind('storage.k8s.io/v1', 'StorageClass'),
  csiNode: kind('storage.k8s.io/v1', 'CSINode'),
};

export interface WorldOptions {
  driver?: MockDriverOptions;
  provisioner?: Partial<Omit<ProvisionerDeps, 'store' | 'csi' | 'driverName'>>;
  clock?: Clock;
  log?: Logger;
  csiClient?: CsiClientOptions;
  /** Use a driver already serving here (e.g. a child process) instead of an in-process mock. */
  endpoint?: string;
  /** Wraps the store the controllers see (the test keeps the raw one). */
  wrapStore?: (store: ObjectStore) => ObjectStore;
}

/** Everything a test starts, and a stop() that ends all of it (idempotent). */
export class World {
  readonly dir: string;
  store!: EmbeddedStore;
  driver!: StartedMockDriver;
  csi!: CsiClient;
  pvController: PvController | undefined;
  provisioner: Provisioner | undefined;
  private readonly options: WorldOptions;

  constructor(options: WorldOptions = {}) {
    this.options = options;
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'berth-prov-'));
  }

  get socketPath(): string {
    return path.join(this.dir, 'csi.sock');
  }

  async start(): Promise<this> {
    this.store = await openEmbeddedStore({ dataDir: path.join(this.dir, 'data') });
    let endpoint = this.options.endpoint;
    if (endpoint === undefined) {
      this.driver = await startMockDriver({
        name: DRIVER,
        ...this.options.driver,
        socketPath: this.socketPath,
      });
      endpoint = this.driver.endpoint;
    }
    this.csi = new CsiClient(endpoint, this.options.csiClient ?? {});
    await this.startControllers();
    return this;
  }

  /** (Re)starts the PV controller and a new provisioner against the current store. */
  async startControllers(provisionerOptions: WorldOptions['provisioner'] = {}): Promise<void> {
    const store = this.options.wrapStore ? this.options.wrapStore(this.store) : this.store;
    const common = {
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.log ? { log: this.options.log } : {}),
    };
    this.pvController = new PvController({ store, workers: 16, ...common });
    await this.pvController.start();
    await this.startProvisioner(provisionerOptions);
  }

  async startProvisioner(extra: WorldOptions['provisioner'] = {}): Promise<Provisioner> {
    const store = this.options.wrapStore ? this.options.wrapStore(this.store) : this.store;
    this.provisioner = new Provisioner({
      store,
      csi: this.csi,
      driverName: DRIVER,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.log ? { log: this.options.log } : {}),
      ...this.options.provisioner,
      ...extra,
    });
    await this.provisioner.start();
    return this.provisioner;
  }

  async stopControllers(): Promise<void> {
    await this.provisioner?.stop();
    await this.pvController?.stop();
    this.provisioner = undefined;
    this.pvController = undefined;
  }

  /** Closes the store and opens it again from its directory, as a restarted process would. */
  async reopenStore(): Promise<void> {
    await this.store.close();
    this.store = await openEmbeddedStore({ dataDir: path.join(this.dir, 'data') });
  }

  async stop(): Promise<void> {
    await this.stopControllers();
    this.csi?.close();
    await this.driver?.shutdown().catch(() => undefined);
    await this.store?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  create<T extends KubeObject>(kindInfo: KindInfo, obj: T): Promise<T> {
    return this.store.create(kindInfo, obj);
  }

  async claim(name: string, namespace = 'default'): Promise<PersistentVolumeClaim | undefined> {
    return getOrUndefined(this.store, K.claim, namespace, name);
  }

  async volume(name: string): Promise<PersistentVolume | undefined> {
    return getOrUndefined(this.store, K.volume, undefined, name);
  }

  /** Waits until both controllers are idle and their recorded events are written. */
  async flushEvents(): Promise<void> {
    await this.provisioner?.whenIdle();
    await this.pvController?.whenIdle();
  }

  async events(reason?: string): Promise<Event[]> {
    const { items } = await this.store.list<Event>(K.event);
    return reason === undefined ? items : items.filter((e) => e.reason === reason);
  }
}

async function getOrUndefined<T extends KubeObject>(
  store: ObjectStore,
  kindInfo: KindInfo,
  namespace: string | undefined,
  name: string,
): Promise<T | undefined> {
  try {
    return await store.get<T>(kindInfo, namespace, name);
  } catch (err) {
    if ((err as { reason?: string }).reason === 'NotFound') return undefined;
    throw err;
  }
}

/** Polls `check` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An ObjectStore that counts successful writes and can be cut off, as a crashed process is. */
export class CountingStore implements ObjectStore {
  writes = 0;
  severed = false;
  readonly byKind = new Map<string, number>();
  private readonly inner: ObjectStore;

  constructor(inner: ObjectStore) {
    this.inner = inner;
  }

  private async write<T>(kindInfo: KindInfo, op: () => Promise<T>): Promise<T> {
    this.check();
    const result = await op();
    this.writes++;
    this.byKind.set(kindInfo.kind, (this.byKind.get(kindInfo.kind) ?? 0) + 1);
    return result;
  }

  private check(): void {
    if (this.severed) throw new Error('store connection lost');
  }

  get: ObjectStore['get'] = async (k, ns, name) => (this.check(), this.inner.get(k, ns, name));
  list: ObjectStore['list'] = async (k, options) => (this.check(), this.inner.list(k, options));
  create: ObjectStore['create'] = (k, obj) => this.write(k, () => this.inner.create(k, obj));
  update: ObjectStore['update'] = (k, obj, options) =>
    this.write(k, () => this.inner.update(k, obj, options));
  patch: ObjectStore['patch'] = (k, ns, name, p, options) =>
    this.write(k, () => this.inner.patch(k, ns, name, p, options));
  delete: ObjectStore['delete'] = (k, ns, name, options) =>
    this.write(k, () => this.inner.delete(k, ns, name, options));
  watch: ObjectStore['watch'] = async (k, options, onEvent) => (
    this.check(),
    this.inner.watch(k, options, onEvent)
  );
  currentRevision: ObjectStore['currentRevision'] = () => this.inner.currentRevision();
  close: ObjectStore['close'] = () => this.inner.close();
}
