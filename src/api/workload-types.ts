// Deployments, ReplicaSets and Jobs as berth's workload controllers read them. They are stored as
// companion kinds (metadata validated only), so every spec field may be missing or of any shape:
// readers default and check what they use.
import type { KubeObject, LabelSelector, ObjectMeta } from './meta.js';
import type { PodSpec } from './types.js';

type Open = Record<string, unknown>;

export interface PodTemplate extends Open {
  metadata?: ObjectMeta;
  spec: PodSpec;
}

export interface WorkloadCondition extends Open {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string;
}

export interface ReplicaSetStatus extends Open {
  replicas?: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
}

export interface ReplicaSet extends KubeObject {
  apiVersion: 'apps/v1';
  kind: 'ReplicaSet';
  spec: {
    replicas?: number;
    minReadySeconds?: number;
    selector: LabelSelector;
    template: PodTemplate;
  } & Open;
  status?: ReplicaSetStatus;
}

export interface DeploymentStatus extends Open {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: WorkloadCondition[];
}

export interface Deployment extends KubeObject {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplate;
    strategy?: {
      type?: 'RollingUpdate' | 'Recreate';
      rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
    };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
  } & Open;
  status?: DeploymentStatus;
}

export interface JobStatus extends Open {
  active?: number;
  ready?: number;
  succeeded?: number;
  failed?: number;
  startTime?: string;
  completionTime?: string;
  conditions?: WorkloadCondition[];
}

export interface Job extends KubeObject {
  apiVersion: 'batch/v1';
  kind: 'Job';
  spec: {
    completions?: number;
    parallelism?: number;
    backoffLimit?: number;
    selector?: LabelSelector;
    template: PodTemplate;
    suspend?: boolean;
  } & Open;
  status?: JobStatus;
}
