// Building blocks of the describe text: field access, the Lines writer, the common header,
// kubectl's generic layout and the Events section.
import type { KubeObject } from '../../api/meta.js';
import { LAST_APPLIED_ANNOTATION } from '../apply-plan.js';
import { ageOf } from '../../api/age.js';
import { alignTabs } from './tabwriter.js';

export type Json = Record<string, unknown>;

export function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Json)[key];
  }
  return current;
}

export function text(value: unknown, fallback = ''): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function record(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

export class Lines {
  private out = '';

  /** One line at `level` (2 spaces each); cells are tab-separated and aligned afterwards. */
  add(level: number, ...cells: string[]): void {
    this.out += '  '.repeat(level) + cells.join('\t') + '\n';
  }

  /** `Label:  k=v` then one continuation line per further entry, or `<none>`. */
  map(level: number, label: string, entries: Json | undefined, separator = '=', skip: string[] = []): void {
    const keys = Object.keys(entries ?? {})
      .filter((k) => !skip.includes(k))
      .sort();
    if (keys.length === 0) {
      this.add(level, `${label}:`, '<none>');
      return;
    }
    keys.forEach((key, i) =>
      this.add(level, i === 0 ? `${label}:` : '', `${key}${separator}${text(entries?.[key])}`),
    );
  }

  toString(): string {
    return alignTabs(this.out);
  }
}

export function header(lines: Lines, obj: KubeObject, withNamespace: boolean): void {
  lines.add(0, 'Name:', obj.metadata.name ?? '');
  if (withNamespace) lines.add(0, 'Namespace:', obj.metadata.namespace ?? '');
}

export function labelsAndAnnotations(lines: Lines, obj: KubeObject): void {
  lines.map(0, 'Labels', obj.metadata.labels);
  lines.map(0, 'Annotations', obj.metadata.annotations, ': ', [LAST_APPLIED_ANNOTATION]);
}

export function finalizers(obj: KubeObject): string {
  return `[${(obj.metadata.finalizers ?? []).join(' ')}]`;
}

/** "volumeHandle" -> "Volume Handle", as kubectl's generic describer titles fields. */
export function fieldTitle(name: string): string {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

export function describeValue(lines: Lines, level: number, title: string, value: unknown): void {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      lines.add(level, `${title}:`, value.map((v) => text(v)).join(', '));
      return;
    }
    lines.add(level, `${title}:`);
    for (const item of value) {
      const entries = Object.entries(record(item));
      for (const [k, v] of entries) describeValue(lines, level + 1, fieldTitle(k), v);
    }
    return;
  }
  if (value !== null && typeof value === 'object') {
    lines.add(level, `${title}:`);
    for (const [k, v] of Object.entries(value as Json)) describeValue(lines, level + 1, fieldTitle(k), v);
    return;
  }
  lines.add(level, `${title}:`, text(value));
}

export function describeGeneric(lines: Lines, obj: KubeObject): void {
  header(lines, obj, obj.metadata.namespace !== undefined);
  labelsAndAnnotations(lines, obj);
  lines.add(0, 'API Version:', obj.apiVersion);
  lines.add(0, 'Kind:', obj.kind);
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
    describeValue(lines, 0, fieldTitle(key), value);
  }
}

function eventTime(event: KubeObject, field: 'firstTimestamp' | 'lastTimestamp'): string | undefined {
  const value = event[field] ?? event['eventTime'] ?? event.metadata.creationTimestamp;
  return typeof value === 'string' ? value : undefined;
}

/** The Events section: `<none>`, or a Type/Reason/Age/From/Message table oldest first. */
export function describeEvents(lines: Lines, events: readonly KubeObject[], now: Date): void {
  if (events.length === 0) {
    lines.add(0, 'Events:', '<none>');
    return;
  }
  const sorted = [...events].sort((a, b) =>
    (eventTime(a, 'lastTimestamp') ?? '').localeCompare(eventTime(b, 'lastTimestamp') ?? ''),
  );
  lines.add(0, 'Events:');
  lines.add(1, 'Type', 'Reason', 'Age', 'From', 'Message');
  lines.add(1, '----', '------', '----', '----', '-------');
  for (const event of sorted) {
    const count = typeof event['count'] === 'number' ? event['count'] : 1;
    const last = ageOf(eventTime(event, 'lastTimestamp'), now);
    const age =
      count > 1 ? `${last} (x${count} over ${ageOf(eventTime(event, 'firstTimestamp'), now)})` : last;
    const component = text(at(event, 'source', 'component')) || text(event['reportingComponent']);
    const host = text(at(event, 'source', 'host'));
    const from = host ? `${component}, ${host}` : component;
    lines.add(1, text(event['type']), text(event['reason']), age, from, text(event['message']).trim());
  }
}
