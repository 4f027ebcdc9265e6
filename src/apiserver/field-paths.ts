// Field paths of objects, for managedFields: which paths an object sets (an applied
// configuration), which paths changed between two versions (an update), and removing a path.
// Lists are walked the way server-side apply walks them: keyed lists ("map" lists, items named by
// their merge key, e.g. containers by name) item by item, set lists (finalizers) value by value,
// every other list as one atomic value. The served kinds' OpenAPI schemas (themselves from zod)
// say which lists are keyed and which objects are structs; where they say nothing, the strategic
// merge table decides. Pure.
import { deepEqual } from '../store/merge-patch.js';
import type { FieldSet } from './field-set.js';
import type { JsonSchema } from './openapi-schema.js';
import { mergedScalarLists, mergeKeyFor } from './strategic-merge.js';

type Json = Record<string, unknown>;
type Schema = JsonSchema | undefined;
export type Path = string[];

function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Below this depth a value is owned as a whole (as an atomic value): ownership stays exact for
 * every real object, and hostile nesting costs no deep recursion.
 */
export const maxTrackedDepth = 64;

/** Structs present in every object of their kind (Go non-pointer structs): never members themselves. */
const alwaysPresentStructs = new Set(['spec', 'status', 'metadata', 'template', 'resources']);

export function childSchema(schema: Schema, key: string): Schema {
  if (!schema) return undefined;
  const properties = schema['properties'];
  if (isMap(properties)) return isMap(properties[key]) ? properties[key] : undefined;
  const extra = schema['additionalProperties'];
  return isMap(extra) ? extra : undefined;
}

/** A struct (fields declared by its type) rather than a map (arbitrary keys). */
function isStruct(schema: Schema): boolean {
  return schema !== undefined && isMap(schema['properties']);
}

type ListType = { type: 'map'; key: string } | { type: 'set' } | { type: 'atomic' };

function listTypeOf(schema: Schema, field: string | undefined, items: unknown[]): ListType {
  const declared = schema?.['x-kubernetes-list-type'];
  const keys = schema?.['x-kubernetes-list-map-keys'];
  if (declared === 'map' && Array.isArray(keys) && typeof keys[0] === 'string')
    return { type: 'map', key: keys[0] };
  if (declared === 'set') return { type: 'set' };
  if (schema !== undefined || field === undefined) return { type: 'atomic' };
  const key = mergeKeyFor(field, items);
  if (key !== undefined) return { type: 'map', key };
  return mergedScalarLists.has(field) ? { type: 'set' } : { type: 'atomic' };
}

interface Child {
  element: string;
  value: unknown;
  schema: Schema;
  field: string | undefined;
  /** A list item or a map entry: a member of the set in its own right. */
  item: boolean;
}

/** The children of a value, or undefined when the value is a leaf (a scalar or an atomic list). */
function childrenOf(
  value: unknown,
  schema: Schema,
  field: string | undefined,
  depth: number,
): Child[] | undefined {
  if (depth >= maxTrackedDepth) return undefined;
  if (Array.isArray(value)) {
    const list = listTypeOf(schema, field, value);
    const itemSchema = isMap(schema?.['items']) ? schema['items'] : undefined;
    let elements: string[];
    if (list.type === 'map') {
      if (!value.every((v) => isMap(v) && v[list.key] !== undefined && v[list.key] !== null))
        return undefined;
      elements = value.map((v) => `k:${JSON.stringify({ [list.key]: (v as Json)[list.key] })}`);
    } else if (list.type === 'set') {
      elements = value.map((v) => `v:${JSON.stringify(v)}`);
    } else return undefined;
    if (new Set(elements).size !== elements.length) return undefined; // duplicates: atomic
    return value.map((v, i) => ({
      element: elements[i] ?? '',
      value: v,
      schema: itemSchema,
      field: undefined,
      item: true,
    }));
  }
  if (!isMap(value)) return undefined;
  const struct =
    isStruct(schema) || (schema === undefined && field !== undefined && alwaysPresentStructs.has(field));
  return Object.entries(value).map(([key, v]) => ({
    element: `f:${key}`,
    value: v,
    schema: childSchema(schema, key),
    field: key,
    item: !struct && schema !== undefined,
  }));
}

/** The paths an applied configuration sets: its leaves and list items (upstream's ToFieldSet). */
export function pathsSetBy(value: unknown, schema: Schema, prefix: Path = [], field?: string): Path[] {
  const children = childrenOf(value, schema, field, prefix.length);
  if (children === undefined || children.length === 0) return prefix.length > 0 ? [prefix] : [];
  const out: Path[] = [];
  for (const c of children) {
    const path = [...prefix, c.element];
    const below = pathsSetBy(c.value, c.schema, path, c.field);
    if (c.item && !below.some((p) => p.length === path.length)) out.push(path);
    out.push(...below);
  }
  return out;
}

/** Paths of a value that appears or disappears as a whole: it, unless an always-present struct, and all below. */
function wholePaths(value: unknown, schema: Schema, path: Path, field: string | undefined): Path[] {
  const children = childrenOf(value, schema, field, path.length);
  if (children === undefined || children.length === 0) return [path];
  const fixed = field !== undefined && alwaysPresentStructs.has(field) && !Array.isArray(value);
  const out: Path[] = fixed ? [] : [path];
  for (const c of children) out.push(...wholePaths(c.value, c.schema, [...path, c.element], c.field));
  return out;
}

/**
 * The set of `wholePaths(value, schema, path, field)` (fromPaths of them), built without listing
 * the paths: a create tracks every path of the new object, and the arrays cost more than the set.
 */
export function wholeSet(value: unknown, schema: Schema, field: string | undefined, depth: number): FieldSet {
  const children = childrenOf(value, schema, field, depth);
  if (children === undefined || children.length === 0) return {};
  const fixed = field !== undefined && alwaysPresentStructs.has(field) && !Array.isArray(value);
  const out: Record<string, FieldSet> = fixed ? {} : { '.': {} };
  for (const c of children) out[c.element] = wholeSet(c.value, c.schema, c.field, depth + 1);
  return out;
}

export interface Comparison {
  added: Path[];
  modified: Path[];
  removed: Path[];
}

/** What changed from `before` to `after` (upstream's typed Compare). */
export function comparePaths(before: unknown, after: unknown, schema: Schema): Comparison {
  const out: Comparison = { added: [], modified: [], removed: [] };
  walkCompare(before, after, schema, [], undefined, out);
  return out;
}

function walkCompare(
  before: unknown,
  after: unknown,
  schema: Schema,
  path: Path,
  field: string | undefined,
  out: Comparison,
): void {
  // the same value (a shared, frozen part of a stored object) has nothing to compare
  if (before === after) return;
  if (before === undefined) {
    out.added.push(...wholePaths(after, schema, path, field));
    return;
  }
  if (after === undefined) {
    out.removed.push(...wholePaths(before, schema, path, field));
    return;
  }
  const left = childrenOf(before, schema, field, path.length);
  const right = childrenOf(after, schema, field, path.length);
  const bothEmpty = left?.length === 0 && right?.length === 0;
  if (
    left === undefined ||
    right === undefined ||
    bothEmpty ||
    Array.isArray(before) !== Array.isArray(after)
  ) {
    if (!deepEqual(before, after) && path.length > 0) out.modified.push(path);
    return;
  }
  const byElement = new Map(left.map((c) => [c.element, c]));
  for (const r of right) {
    const l = byElement.get(r.element);
    byElement.delete(r.element);
    walkCompare(l?.value, r.value, r.schema, [...path, r.element], r.field, out);
  }
  for (const l of byElement.values())
    walkCompare(l.value, undefined, l.schema, [...path, l.element], l.field, out);
}

function locate(container: unknown, element: string): { index: number | string } | undefined {
  const raw = element.slice(2);
  if (element.startsWith('f:')) return isMap(container) && raw in container ? { index: raw } : undefined;
  if (!Array.isArray(container)) return undefined;
  let index = -1;
  if (element.startsWith('i:')) index = Number(raw);
  else if (element.startsWith('v:')) index = container.findIndex((v) => JSON.stringify(v) === raw);
  else if (element.startsWith('k:')) {
    let keys: unknown;
    try {
      keys = JSON.parse(raw);
    } catch {
      return undefined;
    }
    if (!isMap(keys)) return undefined;
    index = container.findIndex(
      (v) => isMap(v) && Object.entries(keys).every(([k, x]) => deepEqual(v[k], x)),
    );
  }
  return index >= 0 && index < container.length ? { index } : undefined;
}

/**
 * Removes the value at `path` from `root` (in place), and then the maps and lists below the
 * top level that the removal left empty. Returns false when the path does not exist.
 */
export function removePath(root: Json, path: readonly string[]): boolean {
  const trail: { container: unknown; index: number | string }[] = [];
  let cur: unknown = root;
  for (const element of path) {
    const at = locate(cur, element);
    if (!at) return false;
    trail.push({ container: cur, index: at.index });
    cur = Array.isArray(cur) ? cur[at.index as number] : (cur as Json)[at.index as string];
  }
  for (let i = trail.length - 1; i >= 0; i--) {
    const { container, index } = trail[i]!;
    if (Array.isArray(container)) container.splice(index as number, 1);
    else delete (container as Json)[index as string];
    const emptied = Array.isArray(container)
      ? container.length === 0
      : Object.keys(container as Json).length === 0;
    // emptied maps and lists go too, but top-level fields (spec, metadata) stay
    if (!emptied || i < 2) break;
  }
  return true;
}
