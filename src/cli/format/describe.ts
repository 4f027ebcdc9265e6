// Pure: `kubectl describe`-style text for the storage kinds, ending with the object's Events.
// Kinds without a dedicated layout get kubectl's generic one (fields as "Title Case:" lines).
import type { KubeObject } from '../../api/meta.js';
import { describeEvents, describeGeneric, Lines } from './describe-lines.js';
import { describeCsiNode, describePv, describePvc, describeSc } from './describe-storage.js';
import { describeNode, describePod, describeStatefulSet } from './describe-workloads.js';

export { fieldTitle } from './describe-lines.js';

export interface DescribeInput {
  object: KubeObject;
  /** Events whose involvedObject is this object. */
  events: readonly KubeObject[];
  /** Pods in the object's namespace, for "Used By" (pvc) and "Pods Status" (sts). */
  pods?: readonly KubeObject[];
  now: Date;
}

type Describer = (lines: Lines, obj: KubeObject, input: DescribeInput) => void;

/** The layout of each kind that has its own; every other kind gets the generic one. */
const describers: Record<string, Describer> = {
  PersistentVolume: (lines, obj) => describePv(lines, obj),
  PersistentVolumeClaim: (lines, obj, input) => describePvc(lines, obj, input.pods ?? []),
  StorageClass: (lines, obj) => describeSc(lines, obj),
  Pod: (lines, obj) => describePod(lines, obj),
  Node: (lines, obj) => describeNode(lines, obj),
  CSINode: (lines, obj) => describeCsiNode(lines, obj),
  StatefulSet: (lines, obj, input) => describeStatefulSet(lines, obj, input.pods ?? []),
};

/** The whole describe text for one object, ending with a newline. */
export function describeObject(input: DescribeInput): string {
  const lines = new Lines();
  const describe = describers[input.object.kind] ?? ((l, obj) => describeGeneric(l, obj));
  describe(lines, input.object, input);
  describeEvents(lines, input.events, input.now);
  return lines.toString();
}
