// The node's heartbeat, as kubelet's lease controller: a coordination.k8s.io/v1 Lease named after
// the node in kube-node-lease, held by the node, owned by the Node (so it goes with it), with
// leaseDurationSeconds 40 and spec.renewTime renewed every 10 s, plus up to 4% jitter, counted from
// the end of the previous renewal (as kubelet's JitterUntil with factor 0.04, sliding): many nodes
// started together drift apart, and an idle node renews about 5.9 times a minute, not 6. A failed
// renewal is retried sooner (200 ms doubling to 7 s, as kubelet) so one lost request does not cost
// a whole period.
// A renewal due less than a period after the node posted its status is skipped: the node lifecycle
// controller counts either as a heartbeat, and the node's Ready write (every 5 minutes) would
// otherwise be a seventh write that minute on top of the six renewals.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { Lease, Node } from '../api/types.js';
import type { Clock, TimerHandle } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import type { ObjectStore } from '../store/types.js';
import {
  microTime,
  NODE_LEASE_DURATION_SECONDS,
  NODE_LEASE_NAMESPACE,
  NODE_LEASE_RENEW_MS,
} from '../volume/node-health.js';

const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 7_000;
const JITTER_FACTOR = 0.04;

export interface NodeLeaseDeps {
  store: ObjectStore;
  nodeName: string;
  clock: Clock;
  log: Logger;
  /** Renew period; default 10 s (a quarter of the lease duration). 0 disables the loop. */
  renewMs?: number;
  leaseDurationSeconds?: number;
  /** When (clock ms) the node last posted its status, a heartbeat that stands in for a renewal. */
  lastStatusPostMs?: () => number | undefined;
  /** A number in [0, 1) that picks each period's jitter; default Math.random. */
  random?: () => number;
}

/** The Lease this node wants stored: ours, renewed now, owned by the Node when its uid is known. */
export function desiredNodeLease(
  current: Lease | undefined,
  node: Pick<Node, 'metadata'> | undefined,
  nodeName: string,
  durationSeconds: number,
  now: Date,
): Lease {
  const ownerReferences =
    node?.metadata.uid !== undefined
      ? [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata.uid }]
      : current?.metadata.ownerReferences;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...(current?.metadata ?? {}),
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ...(ownerReferences ? { ownerReferences } : {}),
    },
    spec: {
      ...(current?.spec ?? {}),
      holderIdentity: nodeName,
      leaseDurationSeconds: durationSeconds,
      renewTime: microTime(now),
    },
  };
}

export class NodeLease {
  private readonly deps: NodeLeaseDeps;
  private readonly renewMs: number;
  private readonly durationSeconds: number;
  private timer: TimerHandle | undefined;
  private failures = 0;
  private renewed = false;
  private stopped = false;

  constructor(deps: NodeLeaseDeps) {
    this.deps = deps;
    this.renewMs = deps.renewMs ?? NODE_LEASE_RENEW_MS;
    this.durationSeconds = deps.leaseDurationSeconds ?? NODE_LEASE_DURATION_SECONDS;
  }

  /** Creates or renews the Lease once (a compare-and-swap on its resourceVersion). */
  async renew(): Promise<Lease> {
    const { store, nodeName, clock } = this.deps;
    let current: Lease | undefined;
    try {
      current = await store.get<Lease>(K.lease, NODE_LEASE_NAMESPACE, nodeName);
    } catch (err) {
      if (!isStatusError(err, 'NotFound')) throw err;
    }
    const owned = current?.metadata.ownerReferences?.some((r) => r.kind === 'Node');
    const node = owned ? undefined : await this.nodeObject();
    const next = desiredNodeLease(current, node, nodeName, this.durationSeconds, clock.now());
    return current ? store.update(K.lease, next) : store.create(K.lease, next);
  }

  start(): void {
    if (this.stopped || this.renewMs <= 0) return;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      if (this.statusJustPosted()) {
        this.schedule(this.period());
        return;
      }
      void this.renew().then(
        () => {
          this.failures = 0;
          this.renewed = true;
          this.schedule(this.period());
        },
        (err: unknown) => {
          this.failures++;
          const delay = Math.min(RETRY_BASE_MS * 2 ** (this.failures - 1), RETRY_MAX_MS);
          this.deps.log.warn('node lease renewal failed; retrying', { err, retryInMs: delay });
          this.schedule(delay);
        },
      );
    }, ms);
  }

  /** The wait until the next renewal: the renew period plus up to 4% of it. */
  private period(): number {
    return this.renewMs * (1 + JITTER_FACTOR * (this.deps.random ?? Math.random)());
  }

  /** The node posted its status less than a period ago (and our renewals succeed: the Lease exists). */
  private statusJustPosted(): boolean {
    const posted = this.deps.lastStatusPostMs?.();
    if (!this.renewed || this.failures > 0 || posted === undefined) return false;
    return this.deps.clock.now().getTime() - posted < this.renewMs;
  }

  private async nodeObject(): Promise<Node | undefined> {
    try {
      return await this.deps.store.get<Node>(K.node, undefined, this.deps.nodeName);
    } catch (err) {
      if (isStatusError(err, 'NotFound')) return undefined;
      throw err;
    }
  }
}
