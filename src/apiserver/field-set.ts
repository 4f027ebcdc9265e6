// Sets of field paths in the FieldsV1 trie format of metadata.managedFields: each key is a path
// element - "f:<field>" (struct field or map key), "k:<json of key fields>" (item of a keyed
// list), "v:<json value>" (item of a set list), "i:<index>" (item of an atomic list) - and "."
// marks the node itself as a member. {"f:spec":{"f:volumeName":{}}} holds .spec.volumeName.
// Sets are plain JSON values and never mutated in place. Pure.

export type FieldSet = { readonly [element: string]: FieldSet };

export const emptySet: FieldSet = {};
const self = '.';

function childrenOf(set: FieldSet): [string, FieldSet][] {
  return Object.entries(set).filter(([k]) => k !== self);
}

/** A node is a member when it is {} or carries ".". */
function isMemberNode(set: FieldSet): boolean {
  return self in set || Object.keys(set).length === 0;
}

export function isEmpty(set: FieldSet | undefined): boolean {
  return set === undefined || Object.keys(set).length === 0;
}

type Keep = (inA: boolean, inB: boolean) => boolean;

/** A node: {} is a member without children, {".":{}, ...} a member with children. */
function makeNode(member: boolean, children: Record<string, FieldSet>): FieldSet | undefined {
  if (isEmpty(children)) return member ? {} : undefined;
  return member ? { [self]: {}, ...children } : children;
}

// Plain loops over keys rather than entries, sets and fromEntries: these run for every write
// the API server tracks, several times over every path of the object.
function combine(a: FieldSet, b: FieldSet, keepMember: Keep, keepChild: Keep): Record<string, FieldSet> {
  const out: Record<string, FieldSet> = {};
  for (const key of Object.keys(a)) {
    if (key === self) continue;
    const y = b[key];
    if (!keepChild(true, y !== undefined)) continue;
    const node = combineNode(a[key], y, keepMember, keepChild);
    if (node !== undefined) out[key] = node;
  }
  if (!keepChild(false, true)) return out;
  for (const key of Object.keys(b)) {
    if (key === self || a[key] !== undefined) continue;
    const node = combineNode(undefined, b[key], keepMember, keepChild);
    if (node !== undefined) out[key] = node;
  }
  return out;
}

function combineNode(
  x: FieldSet | undefined,
  y: FieldSet | undefined,
  keepMember: Keep,
  keepChild: Keep,
): FieldSet | undefined {
  const member = keepMember(x !== undefined && isMemberNode(x), y !== undefined && isMemberNode(y));
  return makeNode(member, combine(x ?? emptySet, y ?? emptySet, keepMember, keepChild));
}

// Every set is normalised (built here, or read through toFieldSet), so an empty operand
// answers without walking the other.

export function union(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  return combine(
    a,
    b,
    (x, y) => x || y,
    (x, y) => x || y,
  );
}

/** Members of `a` that are not members of `b` (exact paths, like upstream's Difference). */
export function difference(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(a) || isEmpty(b)) return a;
  return combine(
    a,
    b,
    (x, y) => x && !y,
    (x) => x,
  );
}

export function intersection(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(a) || isEmpty(b)) return emptySet;
  return combine(
    a,
    b,
    (x, y) => x && y,
    (x, y) => x && y,
  );
}

/** Every member path of the set, as lists of path elements, in sorted order. */
export function memberPaths(set: FieldSet, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [key, node] of childrenOf(set).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const path = [...prefix, key];
    if (isMemberNode(node)) out.push(path);
    out.push(...memberPaths(node, path));
  }
  return out;
}

/** The set holding exactly these member paths. */
export function fromPaths(paths: readonly (readonly string[])[]): FieldSet {
  // built as a mutable trie in one pass, then given the member marks of the FieldSet format
  type Trie = { member: boolean; children: Map<string, Trie> };
  const root: Trie = { member: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const element of path) {
      let child = node.children.get(element);
      if (!child) {
        child = { member: false, children: new Map() };
        node.children.set(element, child);
      }
      node = child;
    }
    node.member = true;
  }
  const toSet = (node: Trie): Record<string, FieldSet> => {
    const out: Record<string, FieldSet> = {};
    for (const [element, child] of node.children) out[element] = makeNode(child.member, toSet(child)) ?? {};
    return out;
  };
  return toSet(root);
}

/** True when the set has this exact path as a member. */
export function hasMember(set: FieldSet, path: readonly string[]): boolean {
  let node: FieldSet | undefined = set;
  for (const element of path) {
    node = node[element];
    if (node === undefined) return false;
  }
  return path.length > 0 && isMemberNode(node);
}

/** True when the set owns the path or anything below it. */
export function ownsAtOrBelow(set: FieldSet, path: readonly string[]): boolean {
  let node: FieldSet | undefined = set;
  for (const element of path) {
    node = node[element];
    if (node === undefined) return false;
  }
  return true;
}

/** Upstream's text for a path: .spec.volumeName, .spec.containers[name="c"].image, [="x"], [0]. */
export function formatPath(path: readonly string[]): string {
  let out = '';
  for (const element of path) {
    const value = element.slice(2);
    if (element.startsWith('f:')) out += `.${value}`;
    else if (element.startsWith('v:')) out += `[=${value}]`;
    else if (element.startsWith('i:')) out += `[${value}]`;
    else if (element.startsWith('k:')) {
      const keys = parseJson(value);
      const parts =
        keys && typeof keys === 'object'
          ? Object.entries(keys).map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          : [value];
      out += `[${parts.join(',')}]`;
    }
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A FieldSet read from stored or user-given JSON, normalised; anything malformed is undefined. */
export function toFieldSet(value: unknown, depth = 0): FieldSet | undefined {
  if (depth > 100 || typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const children: Record<string, FieldSet> = {};
  let member = true;
  for (const [key, child] of Object.entries(value)) {
    if (key !== self && !/^[fkvi]:/.test(key)) return undefined;
    const node = toFieldSet(child, depth + 1);
    if (node === undefined) return undefined;
    if (key !== self) {
      children[key] = node;
      member = self in value;
    }
  }
  return makeNode(member, children) ?? {};
}
