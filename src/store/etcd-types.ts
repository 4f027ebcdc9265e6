// What the etcd store is opened with and reports.
import type { ObjectStore } from './types.js';

export interface EtcdTls {
  /** PEM of the CA that signed etcd's serving certificate (--etcd-cafile). */
  caPem: Buffer;
  /** Client certificate and key (--etcd-certfile, --etcd-keyfile), when etcd asks for one. */
  certPem?: Buffer;
  keyPem?: Buffer;
}

export interface EtcdStoreOptions {
  /** Client URLs, e.g. http://127.0.0.1:2379. */
  endpoints: readonly string[];
  /** Key prefix of everything berth stores (default /registry, as Kubernetes). */
  prefix?: string;
  tls?: EtcdTls;
  clock?: () => Date;
  uid?: () => string;
  /**
   * Compact etcd's history this often (default 5 minutes, as kube-apiserver), each time up to the
   * revision seen one interval earlier, so watchers always have at least one interval to resume.
   * 0 = never (another component compacts).
   */
  compactionIntervalMs?: number;
  /** Also compact after writes so that at most about this many revisions stay (tests). */
  historyLimit?: number;
  /** Deadline of one etcd request (default 10 s). */
  requestTimeoutMs?: number;
}

export interface EtcdStoreStats {
  /** Transactions that wrote (creates, updates, deletes). */
  writes: number;
  /** Transactions that lost a compare-and-swap race and were decided again. */
  retries: number;
  compactedRevision: number;
  watchers: number;
}

export type EtcdStore = ObjectStore & {
  stats(): EtcdStoreStats;
  /** Stores `value` under `name` unless something is there already; returns what is stored. */
  bootstrapValue(name: string, value: string): Promise<string>;
  /** etcd's size of its database file, in bytes (the first endpoint's). */
  dbSize(): Promise<number>;
};
