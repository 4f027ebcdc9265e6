// Small object builders the scheduler and StatefulSet tests share: nodes, CSI objects, pods with
// placement constraints. Claims, volumes and classes come from test/helpers/builders.
import type { CSIDriver, CSINode, Node, Pod } from '../../../src/api/types.js';
import { newPod } from '../../helpers/builders.js';

export interface NodeOptions {
  labels?: Record<string, string>;
  ready?: boolean;
  unschedulable?: boolean;
  taints?: { key: string; value?: string; effect: string }[];
}

export function newNode(name: string, options: NodeOptions = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...options.labels } },
    ...(options.unschedulable || options.taints
      ? {
          spec: {
            ...(options.unschedulable ? { unschedulable: true } : {}),
            ...(options.taints ? { taints: options.taints } : {}),
          },
        }
      : {}),
    status: {
      conditions: [
        {
          type: 'Ready',
          status: options.ready === false ? 'False' : 'True',
          lastHeartbeatTime: new Date().toISOString(),
        },
      ],
    },
  };
}

export function newCsiNode(node: string, drivers: { name: string; topologyKeys?: string[] }[]): CSINode {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSINode',
    metadata: { name: node },
    spec: {
      drivers: drivers.map((d) => ({
        name: d.name,
        nodeID: node,
        ...(d.topologyKeys ? { topologyKeys: d.topologyKeys } : {}),
      })),
    },
  };
}

export function newCsiDriver(name: string, spec: CSIDriver['spec'] = {}): CSIDriver {
  return { apiVersion: 'storage.k8s.io/v1', kind: 'CSIDriver', metadata: { name }, spec };
}

export interface PlacedPodOptions {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  /** Required node affinity: hostname In these values. */
  hostnames?: string[];
  schedulerName?: string;
}

export function podWithClaims(name: string, claims: string[], options: PlacedPodOptions = {}): Pod {
  const pod = newPod(name, claims, options.nodeName ? { nodeName: options.nodeName } : {});
  if (options.nodeSelector) pod.spec.nodeSelector = options.nodeSelector;
  if (options.schedulerName) pod.spec.schedulerName = options.schedulerName;
  if (options.hostnames) {
    pod.spec.affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'In', values: options.hostnames },
              ],
            },
          ],
        },
      },
    };
  }
  return pod;
}
