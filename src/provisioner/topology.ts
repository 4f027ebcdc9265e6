// Topology in and out of CreateVolume (external-provisioner's GenerateAccessibilityRequirements and
// GenerateVolumeNodeAffinity, non-strict mode). Segments come from node labels for the keys the
// driver registered in CSINode. Pure: the node and CSINode lookups are passed in.
import type { CSINode, Node, NodeSelector, TopologySelectorTerm } from '../api/types.js';
import type { StringMap, TopologyRequirement } from '../csi/types.js';
import { PlanError } from '../volume/plan-error.js';

export interface TopologyView {
  node(name: string): Node | undefined;
  csiNode(name: string): CSINode | undefined;
  csiNodes(): readonly CSINode[];
}

type Segment = StringMap;

/**
 * Requisite and preferred topologies for a new volume. With a selected node, its segment goes
 * first in preferred; without, every segment the class allows (or every registered node's) is
 * requisite. A missing node or CSINode asks for rescheduling, as upstream does.
 */
export function accessibilityRequirements(
  driverName: string,
  selectedNode: string | undefined,
  allowedTopologies: readonly TopologySelectorTerm[] | undefined,
  view: TopologyView,
): TopologyRequirement {
  const allowed = flattenAllowedTopologies(allowedTopologies ?? []);
  if (selectedNode === undefined) {
    const requisite = allowed.length > 0 ? allowed : clusterSegments(driverName, view);
    if (requisite.length === 0) throw new PlanError('no available topology found');
    const sorted = sortSegments(requisite);
    return { requisite: sorted.map(toTopology), preferred: sorted.map(toTopology) };
  }
  const node = view.node(selectedNode);
  if (!node) throw new PlanError(`node "${selectedNode}" not found`, { reschedule: true });
  const csiNode = view.csiNode(selectedNode);
  if (!csiNode) throw new PlanError(`csinode "${selectedNode}" not found`, { reschedule: true });
  const keys = driverKeys(csiNode, driverName);
  if (keys.length === 0) throw new PlanError(`no topology key found for node ${selectedNode}`);
  const own = segmentOf(node, keys);
  if (!own) {
    throw new PlanError(
      `topology labels of node ${selectedNode} do not cover the topology keys [${keys.join(' ')}] from its CSINode`,
    );
  }
  const requisite = sortSegments(allowed.length > 0 ? allowed : clusterSegments(driverName, view, keys));
  const first = requisite.findIndex((segment) => isSubset(segment, own));
  if (first < 0) {
    throw new PlanError(
      `topology ${describe(own)} of selected node "${selectedNode}" is not in the allowed topologies ${requisite.map(describe).join(', ')}`,
    );
  }
  const preferred = [...requisite.slice(first), ...requisite.slice(0, first)];
  return { requisite: requisite.map(toTopology), preferred: preferred.map(toTopology) };
}

/** allowedTopologies terms as segments: values in one expression are ORed, expressions ANDed. */
export function flattenAllowedTopologies(terms: readonly TopologySelectorTerm[]): Segment[] {
  const out: Segment[] = [];
  for (const term of terms) {
    const expressions = term.matchLabelExpressions ?? [];
    if (expressions.length === 0) continue;
    let partial: Segment[] = [{}];
    for (const { key, values } of expressions) {
      partial = partial.flatMap((segment) => values.map((value) => ({ ...segment, [key]: value })));
    }
    out.push(...partial);
  }
  return dedupe(out);
}

/** A volume reachable from the given topologies: one node selector term per topology segment. */
export function nodeAffinityFor(topologies: readonly { segments: StringMap }[]): NodeSelector | undefined {
  const terms = topologies
    .filter((t) => Object.keys(t.segments).length > 0)
    .map((t) => ({
      matchExpressions: Object.keys(t.segments)
        .sort()
        .map((key) => ({ key, operator: 'In' as const, values: [t.segments[key] ?? ''] })),
    }));
  return terms.length > 0 ? { nodeSelectorTerms: terms } : undefined;
}

function driverKeys(csiNode: CSINode, driverName: string): string[] {
  return csiNode.spec.drivers.find((d) => d.name === driverName)?.topologyKeys ?? [];
}

function segmentOf(node: Node, keys: readonly string[]): Segment | undefined {
  const labels = node.metadata.labels ?? {};
  const segment: Segment = {};
  for (const key of keys) {
    const value = labels[key];
    if (value === undefined) return undefined;
    segment[key] = value;
  }
  return segment;
}

/** Segments of every node whose CSINode registers the driver (with the same keys, when given). */
export function clusterSegments(driverName: string, view: TopologyView, keys?: readonly string[]): Segment[] {
  const wanted = keys ? [...keys].sort().join('\u0000') : undefined;
  const out: Segment[] = [];
  for (const csiNode of view.csiNodes()) {
    const nodeKeys = driverKeys(csiNode, driverName);
    if (nodeKeys.length === 0) continue;
    if (wanted !== undefined && [...nodeKeys].sort().join('\u0000') !== wanted) continue;
    const node = view.node(csiNode.metadata.name ?? '');
    const segment = node && segmentOf(node, nodeKeys);
    if (segment) out.push(segment);
  }
  return dedupe(out);
}

/** The segment of one node for the driver: its labels for the keys its CSINode registers. */
export function nodeSegment(driverName: string, nodeName: string, view: TopologyView): Segment | undefined {
  const csiNode = view.csiNode(nodeName);
  const node = view.node(nodeName);
  if (!csiNode || !node || !csiNode.spec.drivers.some((d) => d.name === driverName)) return undefined;
  return segmentOf(node, driverKeys(csiNode, driverName));
}

function isSubset(small: Segment, big: Segment): boolean {
  return Object.entries(small).every(([k, v]) => big[k] === v);
}

function canonical(segment: Segment): string {
  return JSON.stringify(
    Object.keys(segment)
      .sort()
      .map((k) => [k, segment[k]]),
  );
}

function dedupe(segments: readonly Segment[]): Segment[] {
  const seen = new Map<string, Segment>();
  for (const s of segments) seen.set(canonical(s), s);
  return [...seen.values()];
}

function sortSegments(segments: readonly Segment[]): Segment[] {
  return dedupe(segments).sort((a, b) =>
    canonical(a) < canonical(b) ? -1 : canonical(a) > canonical(b) ? 1 : 0,
  );
}

function toTopology(segment: Segment): { segments: StringMap } {
  return { segments: { ...segment } };
}

function describe(segment: Segment): string {
  return `{${Object.keys(segment)
    .sort()
    .map((k) => `${k}=${segment[k] ?? ''}`)
    .join(',')}}`;
}
