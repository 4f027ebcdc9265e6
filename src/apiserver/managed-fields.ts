// metadata['managedFields']: which manager owns which fields, as the API server's field manager
// records it. Creates, updates and patches are "Update" operations: the manager takes the fields
// it changed, from everyone else. Server-side apply is an "Apply" operation: the manager owns
// exactly the fields of its applied configuration; changing a field another manager owns is a
// conflict (409) unless forced; fields it applied before and applies no more are removed when
// nobody else owns them. Pure: the caller passes the time.
import { withFields } from '../api/with-fields.js';
import { StatusError, type StatusCause } from '../api/errors.js';
import { fieldError, invalidError, type FieldError } from '../api/field-errors.js';
import { apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { cloneJson } from '../api/clone-json.js';
import { deepEqual } from '../store/merge-patch.js';
import {
  difference,
  emptySet,
  fromPaths,
  formatPath,
  hasMember,
  intersection,
  isEmpty,
  memberPaths,
  ownsAtOrBelow,
  toFieldSet,
  union,
  type FieldSet,
} from './field-set.js';
import { childSchema, comparePaths, pathsSetBy, removePath, wholeSet, type Path } from './field-paths.js';
import { kindSchema, type JsonSchema } from './openapi-schema.js';

export type Operation = 'Apply' | 'Update';

export interface ManagedFieldsEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldSet;
  subresource?: string;
}

export interface Writer {
  manager: string;
  /** 'status' for writes through the status subresource. */
  subresource?: string;
  /** RFC 3339, seconds. */
  time: string;
}

/** Never owned by anyone (upstream's strip set). */
const strippedPaths = fromPaths([
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...[
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'clusterName',
    'generation',
    'managedFields',
    'resourceVersion',
  ].map((f) => ['f:metadata', `f:${f}`]),
]);

const schemas = new Map<string, JsonSchema>();
function schemaOf(kind: KindInfo): JsonSchema {
  let schema = schemas.get(kind.kind);
  if (!schema) {
    schema = kindSchema(kind, 'v3');
    schemas.set(kind.kind, schema);
  }
  return schema;
}

/**
 * Only what a write may change is owned: status through /status, everything else without it
 * (for kinds with a status subresource), as upstream's reset fields do.
 */
function scoped(kind: KindInfo, subresource: string | undefined, paths: Path[]): Path[] {
  if (!kind.hasStatus) return paths;
  return paths.filter((p) => (p[0] === 'f:status') === (subresource === 'status'));
}

function toSet(kind: KindInfo, subresource: string | undefined, paths: Path[]): FieldSet {
  return fromPaths(scoped(kind, subresource, paths).filter((p) => !hasMember(strippedPaths, p)));
}

function identity(e: {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
}): string {
  // appliers keep their identity across API versions; updaters do not
  return JSON.stringify([
    e.manager,
    e.operation,
    e.operation === 'Apply' ? '' : e.apiVersion,
    e.subresource ?? '',
  ]);
}

/** Entries as stored; anything malformed resets ownership, as upstream does. */
export function decodeManagedFields(raw: unknown): ManagedFieldsEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: ManagedFieldsEntry[] = [];
  for (const e of raw) {
    if (typeof e !== 'object' || e === null) return [];
    const entry = e as Record<string, unknown>;
    const fields = toFieldSet(entry['fieldsV1'] ?? {});
    const { manager, operation, apiVersion, time, subresource } = entry;
    if (typeof manager !== 'string' || (operation !== 'Apply' && operation !== 'Update') || !fields)
      return [];
    if (typeof apiVersion !== 'string') return [];
    const decoded: ManagedFieldsEntry = {
      manager,
      operation,
      apiVersion,
      fieldsType: 'FieldsV1',
      fieldsV1: fields,
    };
    if (typeof time === 'string') decoded.time = time;
    if (typeof subresource === 'string' && subresource !== '') decoded.subresource = subresource;
    out.push(decoded);
  }
  return out;
}

function sorted(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  const keys = (e: ManagedFieldsEntry): string[] => [
    e.operation,
    e.time ?? '',
    e.manager,
    e.apiVersion,
    e.subresource ?? '',
  ];
  return [...entries].sort((a, b) => {
    const [x, y] = [keys(a), keys(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] ?? '') < (y[i] ?? '') ? -1 : 1;
    return 0;
  });
}

function withoutBookkeeping(obj: KubeObject | undefined): unknown {
  if (!obj) return undefined;
  const { managedFields: _m, resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** The ownership an incoming object starts from: its own managedFields when it changes them. */
function startingEntries(old: KubeObject | undefined, next: KubeObject): ManagedFieldsEntry[] {
  const given = next.metadata['managedFields'];
  if (given !== undefined && !deepEqual(given, old?.metadata['managedFields']))
    return decodeManagedFields(given);
  return decodeManagedFields(old?.metadata['managedFields']);
}

function finish(
  entries: ManagedFieldsEntry[],
  mine: ManagedFieldsEntry,
  previous: ManagedFieldsEntry | undefined,
  objectChanged: boolean,
  writer: Writer,
): ManagedFieldsEntry[] {
  const others = entries.filter((e) => !isEmpty(e.fieldsV1));
  if (isEmpty(mine.fieldsV1)) return sorted(others);
  // the time moves only when this write changed the object or the manager's fields
  const unchanged = previous && !objectChanged && deepEqual(previous.fieldsV1, mine.fieldsV1);
  const time = unchanged && previous.time !== undefined ? previous.time : writer.time;
  return sorted([...others, withFields(mine, { time })]);
}

function entryFor(
  kind: KindInfo,
  writer: Writer,
  operation: Operation,
  fieldsV1: FieldSet,
): ManagedFieldsEntry {
  const entry: ManagedFieldsEntry = {
    manager: writer.manager,
    operation,
    apiVersion: apiVersionOf(kind),
    fieldsType: 'FieldsV1',
    fieldsV1,
  };
  if (writer.subresource) entry.subresource = writer.subresource;
  return entry;
}

/** `set` without its own member mark; undefined when nothing is left. */
function unmarked(set: FieldSet): FieldSet | undefined {
  const out: Record<string, FieldSet> = {};
  let any = false;
  for (const key of Object.keys(set)) {
    if (key === '.') continue;
    out[key] = set[key]!;
    any = true;
  }
  return any ? out : undefined;
}

const bookkeepingElements = new Set(['f:managedFields', 'f:resourceVersion']);
const strippedMetadataElements = new Set(
  memberPaths(strippedPaths)
    .filter((p) => p.length === 2 && p[0] === 'f:metadata' && !bookkeepingElements.has(p[1]!))
    .map((p) => p[1]!),
);

/** The set of metadata's paths less the stripped ones (metadata itself among them). */
function createdMetadataSet(set: FieldSet): FieldSet | undefined {
  const out: Record<string, FieldSet> = {};
  let any = false;
  for (const key of Object.keys(set)) {
    if (key === '.' || bookkeepingElements.has(key)) continue;
    const node = strippedMetadataElements.has(key) ? unmarked(set[key]!) : set[key]!;
    if (node === undefined) continue;
    out[key] = node;
    any = true;
  }
  return any ? out : undefined;
}

/**
 * What a create changes: toSet of every path of the new object, as changesOf from an empty
 * object finds them, built as a set directly (listing the paths first cost more than the rest).
 */
function createdSet(kind: KindInfo, subresource: string | undefined, after: KubeObject): FieldSet {
  const schema = schemaOf(kind);
  const out: Record<string, FieldSet> = {};
  for (const key of Object.keys(after)) {
    const value = after[key];
    if (value === undefined) continue;
    if (kind.hasStatus && (key === 'status') !== (subresource === 'status')) continue;
    let set: FieldSet | undefined = wholeSet(value, childSchema(schema, key), key, 1);
    if (key === 'apiVersion' || key === 'kind') set = unmarked(set);
    else if (key === 'metadata') set = createdMetadataSet(set);
    if (set !== undefined) out[`f:${key}`] = set;
  }
  return out;
}

/** The owned fields that `writer` changed (added or modified) and removed from before to after. */
function changesOf(
  kind: KindInfo,
  writer: Writer,
  before: KubeObject | undefined,
  after: KubeObject,
): { changed: FieldSet; removed: FieldSet } {
  if (before === undefined)
    return { changed: createdSet(kind, writer.subresource, after), removed: emptySet };
  const change = comparePaths(withoutBookkeeping(before) ?? {}, withoutBookkeeping(after), schemaOf(kind));
  return {
    changed: toSet(kind, writer.subresource, [...change.added, ...change.modified]),
    removed: toSet(kind, writer.subresource, change.removed),
  };
}

/** managedFields after a create (old undefined), update or patch by `writer`. */
export function updateManagedFields(
  kind: KindInfo,
  old: KubeObject | undefined,
  next: KubeObject,
  writer: Writer,
): ManagedFieldsEntry[] {
  const { changed, removed } = changesOf(kind, writer, old, next);
  const mine = entryFor(kind, writer, 'Update', emptySet);
  const me = identity(mine);
  const entries = startingEntries(old, next);
  const previous = entries.find((e) => identity(e) === me);
  const others = entries
    .filter((e) => identity(e) !== me)
    .map((e) => ({ ...e, fieldsV1: difference(difference(e.fieldsV1, changed), removed) }));
  mine.fieldsV1 = difference(union(previous?.fieldsV1 ?? emptySet, changed), removed);
  const objectChanged = !isEmpty(changed) || !isEmpty(removed);
  return finish(others, mine, previous, objectChanged, writer);
}

export interface ApplyResult {
  object: KubeObject;
  managedFields: ManagedFieldsEntry[];
}

/**
 * Server-side apply of `config` over `live` (undefined when creating), given `merged`, the
 * config merged into the live object. Removes the fields this manager applied before and no
 * longer does (unless another manager owns them), then checks conflicts.
 */
export function applyManagedFields(
  kind: KindInfo,
  live: KubeObject | undefined,
  config: KubeObject,
  merged: KubeObject,
  writer: Writer,
  force: boolean,
): ApplyResult {
  const applied = toSet(kind, writer.subresource, pathsSetBy(withoutBookkeeping(config), schemaOf(kind)));
  const mine = entryFor(kind, writer, 'Apply', applied);
  const me = identity(mine);
  const entries = decodeManagedFields(live?.metadata['managedFields']);
  const previous = entries.find((e) => identity(e) === me);
  let others = entries.filter((e) => identity(e) !== me);
  const ownedByOthers = others.reduce((acc, e) => union(acc, e.fieldsV1), emptySet);

  const object = cloneJson(merged);
  for (const path of memberPaths(difference(previous?.fieldsV1 ?? emptySet, applied))) {
    if (!ownsAtOrBelow(ownedByOthers, path) && !ownsAtOrBelow(applied, path)) removePath(object, path);
  }

  const { changed, removed } = changesOf(kind, writer, live, object);
  const conflicts = others
    .map((e) => ({ entry: e, fields: intersection(e.fieldsV1, changed) }))
    .filter((c) => !isEmpty(c.fields));
  if (conflicts.length > 0 && !force) throw conflictError(conflicts);
  others = others.map((e) => ({ ...e, fieldsV1: difference(difference(e.fieldsV1, changed), removed) }));
  const objectChanged = !isEmpty(changed) || !isEmpty(removed);
  return { object, managedFields: finish(others, mine, previous, objectChanged, writer) };
}

/** How upstream names a manager in conflict messages. */
function describeManager(e: ManagedFieldsEntry): string {
  let text = JSON.stringify(e.manager);
  if (e.subresource) text += ` with subresource ${JSON.stringify(e.subresource)}`;
  return e.operation === 'Update' ? `${text} using ${e.apiVersion}` : text;
}

function conflictError(conflicts: { entry: ManagedFieldsEntry; fields: FieldSet }[]): StatusError {
  const items = conflicts.flatMap((c) =>
    memberPaths(c.fields).map((p) => ({ manager: describeManager(c.entry), path: formatPath(p) })),
  );
  const causes: StatusCause[] = items.map((i) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${i.manager}`,
    field: i.path,
  }));
  let message: string;
  const [only] = items;
  if (items.length === 1 && only) {
    message = `Apply failed with 1 conflict: conflict with ${only.manager}: ${only.path}`;
  } else {
    const managers = [...new Set(items.map((i) => i.manager))].sort();
    const lines = managers.flatMap((m) => [
      `conflicts with ${m}:`,
      ...items.filter((i) => i.manager === m).map((i) => `- ${i.path}`),
    ]);
    message = `Apply failed with ${items.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

const maxManagerLength = 128;

/**
 * Checks the fieldManager and force options of a write (`options` names the request's options
 * kind, e.g. PatchOptions): at most 128 bytes of printable text; force only for apply.
 */
export function checkOwnershipOptions(options: string, query: URLSearchParams, apply: boolean): void {
  const errs: FieldError[] = [];
  const manager = query.get('fieldManager') ?? '';
  if (Buffer.byteLength(manager) > maxManagerLength)
    errs.push(fieldError.tooLong('fieldManager', maxManagerLength));
  else if (/[\u0000-\u001f\u007f-\u009f]/.test(manager)) {
    errs.push(fieldError.invalid('fieldManager', manager, 'must only contain printable characters'));
  }
  if (!apply && query.has('force'))
    errs.push(fieldError.forbidden('force', 'may not be specified for non-apply patch'));
  if (errs.length > 0) throw invalidError(`${options}.meta.k8s.io`, '', errs, 'meta.k8s.io');
}

/** The manager of a non-apply write: fieldManager, else the user agent's program name. */
export function updateManagerName(fieldManager: string | null, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  const program = (userAgent ?? '').split('/')[0] ?? '';
  return program.slice(0, maxManagerLength);
}

/** The time managedFields record: RFC 3339 in seconds, like metav1.Time. */
export function managedFieldsTime(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

export function withManagedFields(obj: KubeObject, entries: ManagedFieldsEntry[]): KubeObject {
  const managedFields = entries.length === 0 ? undefined : entries;
  return { ...obj, metadata: withFields(obj.metadata, { managedFields }) };
}
