// The field labels each kind can be selected by (fieldSelector), as the Kubernetes registry
// declares them: every kind has metadata.name and metadata.namespace, some kinds a few more.
// Anything else is refused with 400 "field label not supported".
import { badRequest } from './errors.js';
import type { KindInfo } from './kinds.js';
import { parseFieldSelector } from './selectors.js';

const common = ['metadata.name', 'metadata.namespace'];

const byKind: Readonly<Record<string, readonly string[]>> = {
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.podIPs',
    'status.nominatedNodeName',
  ],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Secret: ['type'],
  Namespace: ['status.phase'],
  Node: ['spec.unschedulable'],
  // kept by Kubernetes for backward compatibility
  PersistentVolume: ['name'],
  PersistentVolumeClaim: ['name'],
};

export function fieldLabelsOf(kind: KindInfo): readonly string[] {
  return [...common, ...(byKind[kind.kind] ?? [])];
}

/** Throws 400 for a malformed selector or one naming a field the kind cannot be selected by. */
export function checkFieldSelector(kind: KindInfo, selector: string): void {
  const supported = fieldLabelsOf(kind);
  for (const req of parseFieldSelector(selector).requirements) {
    if (!supported.includes(req.path)) throw badRequest(`field label not supported: ${req.path}`);
  }
}
