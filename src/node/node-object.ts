// The Node object this agent owns: labels (hostname + driver topology), the attach/detach and
// node-id annotations, a Ready condition, and status.volumesInUse — which tells the attach/detach
// controller which volumes it must not detach yet. As kubelet with node leases: the status is
// checked every heartbeat period but written only when it changed (e.g. the node lifecycle
// controller set Ready to Unknown) or once per report period; the Lease (node-lease.ts) is the
// frequent heartbeat.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { CSINode, Node } from '../api/types.js';
import type { Clock, TimerHandle } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import type { ObjectStore } from '../store/types.js';
import {
  CONTROLLER_MANAGED_ATTACH_ANNOTATION,
  HOSTNAME_LABEL,
  nodeIdAnnotation,
  NODE_ID_ANNOTATION,
} from './csinode.js';
import { type NodeCondition, nodeConditions, rfc3339 } from '../volume/node-health.js';

/** kubelet's nodeStatusReportFrequency: an unchanged status is still written this often. */
export const DEFAULT_STATUS_REPORT_MS = 5 * 60_000;
const READY_REASON = 'KubeletReady';

export interface NodeObjectDeps {
  store: ObjectStore;
  nodeName: string;
  clock: Clock;
  log: Logger;
  heartbeatMs: number;
  /** Write an unchanged Ready condition this often; default 5 min. */
  statusReportMs?: number;
}

export class NodeObject {
  private readonly store: ObjectStore;
  readonly nodeName: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly statusReportMs: number;
  /** What we want reported, and what the Node object was last seen to hold after our write. */
  private readonly inUse = new Set<string>();
  private confirmed = new Set<string>();
  private inUseWrites: Promise<void> = Promise.resolve();
  private timer: TimerHandle | undefined;
  private stopped = false;
  private statusPostedAt: number | undefined;

  constructor(deps: NodeObjectDeps) {
    this.store = deps.store;
    this.nodeName = deps.nodeName;
    this.clock = deps.clock;
    this.log = deps.log;
    this.heartbeatMs = deps.heartbeatMs;
    this.statusReportMs = deps.statusReportMs ?? DEFAULT_STATUS_REPORT_MS;
  }

  /** Creates the Node, or adds our labels and annotations to an existing one. */
  async ensure(): Promise<Node> {
    const labels = { [HOSTNAME_LABEL]: this.nodeName };
    const annotations = { [CONTROLLER_MANAGED_ATTACH_ANNOTATION]: 'true' };
    try {
      await this.store.create<Node>(K.node, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: this.nodeName, labels, annotations },
        spec: {},
      });
    } catch (err) {
      if (!isStatusError(err, 'AlreadyExists')) throw err;
      await this.store.patch(K.node, undefined, this.nodeName, { metadata: { labels, annotations } });
    }
    await this.heartbeat();
    return this.store.get<Node>(K.node, undefined, this.nodeName);
  }

  /** Creates the CSINode named after the node (owned by it) if missing. */
  async ensureCsiNode(): Promise<void> {
    let uid: string | undefined;
    try {
      uid = (await this.store.get<Node>(K.node, undefined, this.nodeName)).metadata.uid;
    } catch {
      uid = undefined;
    }
    try {
      await this.store.create<CSINode>(K.csinode, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSINode',
        metadata: {
          name: this.nodeName,
          ...(uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid }] } : {}),
        },
        spec: { drivers: [] },
      });
    } catch (err) {
      if (!isStatusError(err, 'AlreadyExists')) throw err;
    }
  }

  async addLabels(labels: Record<string, string>): Promise<void> {
    if (Object.keys(labels).length === 0) return;
    await this.store.patch(K.node, undefined, this.nodeName, { metadata: { labels } });
  }

  /** Sets (or with undefined removes) this driver's entry in the legacy node-id annotation. */
  async setDriverNodeId(driver: string, nodeId: string | undefined): Promise<void> {
    const node = await this.store.get<Node>(K.node, undefined, this.nodeName);
    const value = nodeIdAnnotation(node.metadata.annotations?.[NODE_ID_ANNOTATION], driver, nodeId);
    await this.store.patch(K.node, undefined, this.nodeName, {
      metadata: { annotations: { [NODE_ID_ANNOTATION]: value === '{}' ? null : value } },
    });
  }

  startHeartbeat(): void {
    if (this.stopped || this.heartbeatMs <= 0) return;
    this.timer = this.clock.setTimeout(() => {
      void this.heartbeat()
        .catch((err: unknown) => this.log.warn('node heartbeat failed', { err }))
        .finally(() => this.startHeartbeat());
    }, this.heartbeatMs);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** When (clock ms) this agent last wrote the Ready condition: a heartbeat of its own. */
  get lastStatusPostMs(): number | undefined {
    return this.statusPostedAt;
  }

  /**
   * Posts Ready=True when the stored condition says otherwise (first start, or the lifecycle
   * controller marked the node Unknown) or is older than the report period; lastTransitionTime
   * is kept while the status holds.
   */
  async heartbeat(): Promise<void> {
    const node = await this.store.get<Node>(K.node, undefined, this.nodeName);
    const nowDate = this.clock.now();
    const now = rfc3339(nowDate);
    const conditions = nodeConditions(node);
    const previous = conditions.find((c) => c.type === 'Ready');
    const heartbeatAge = nowDate.getTime() - Date.parse(previous?.lastHeartbeatTime ?? '');
    const current =
      previous?.status === 'True' && previous.reason === READY_REASON && heartbeatAge < this.statusReportMs;
    if (current) return;
    const ready: NodeCondition = {
      type: 'Ready',
      status: 'True',
      reason: READY_REASON,
      message: 'berth node agent is posting ready status',
      lastHeartbeatTime: now,
      lastTransitionTime: previous?.status === 'True' ? (previous.lastTransitionTime ?? now) : now,
    };
    await this.store.patch(
      K.node,
      undefined,
      this.nodeName,
      { status: { conditions: [...conditions.filter((c) => c.type !== 'Ready'), ready] } },
      { subresource: 'status' },
    );
    this.statusPostedAt = nowDate.getTime();
  }

  /** True once a write that included the volume has succeeded. */
  isInUse(uniqueName: string): boolean {
    return this.confirmed.has(uniqueName);
  }

  inUseVolumes(): string[] {
    return [...this.inUse].sort();
  }

  /** Adds to the set without writing (writeInUse() follows). */
  markInUse(uniqueName: string): void {
    this.inUse.add(uniqueName);
  }

  /** Reports (or stops reporting) a volume in status.volumesInUse; resolves once written. */
  setInUse(uniqueName: string, inUse: boolean): Promise<void> {
    if (inUse) this.inUse.add(uniqueName);
    else this.inUse.delete(uniqueName);
    return this.writeInUse();
  }

  /** Writes the whole set (used at start, after reconstruction, to drop stale entries). */
  writeInUse(): Promise<void> {
    const write = this.inUseWrites.then(async () => {
      const list = this.inUseVolumes();
      await this.store.patch(
        K.node,
        undefined,
        this.nodeName,
        { status: { volumesInUse: list.length > 0 ? list : null } },
        { subresource: 'status' },
      );
      this.confirmed = new Set(list);
    });
    // later writes run even when this one failed; the caller of this one sees its failure
    this.inUseWrites = write.catch(() => undefined);
    return write;
  }
}
