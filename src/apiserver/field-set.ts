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

/** A node: {} is a member without children, {".":{}, ...} a member with children. */
function makeNode(member: boolean, children: [string, FieldSet][]): FieldSet | undefined {
  if (children.length === 0) return member ? {} : undefined;
  const out = Object.fromEntries(children);
  return member ? { [self]: {}, ...out } : out;
}

function combine(
  a: FieldSet,
  b: FieldSet,
  keepMember: (inA: boolean, inB: boolean) => boolean,
  keepChild: (inA: boolean, inB: boolean) => boolean,
): FieldSet {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete(self);
  const out: [string, FieldSet][] = [];
  for (const key of keys) {
    const x = a[key];
    const y = b[key];
    if (!keepChild(x !== undefined, y !== undefined)) continue;
    const node = combineNode(x, y, keepMember, keepChild);
    if (node !== undefined) out.push([key, node]);
  }
  return Object.fromEntries(out);
}

function combineNode(
  x: FieldSet | undefined,
  y: FieldSet | undefined,
  keepMember: (inA: boolean, inB: boolean) => boolean,
  keepChild: (inA: boolean, inB: boolean) => boolean,
): FieldSet | undefined {
  const member = keepMember(x !== undefined && isMemberNode(x), y !== undefined && isMemberNode(y));
  return makeNode(member, childrenOf(combine(x ?? {}, y ?? {}, keepMember, keepChild)));
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  return combine(
    a,
    b,
    (x, y) => x || y,
    (x, y) => x || y,
  );
}

/** Members of `a` that are not members of `b` (exact paths, like upstream's Difference). */
export function difference(a: FieldSet, b: FieldSet): FieldSet {
  return combine(
    a,
    b,
    (x, y) => x && !y,
    (x) => x,
  );
}

export function intersection(a: FieldSet, b: FieldSet): FieldSet {
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
  let set: FieldSet = emptySet;
  for (const path of paths) {
    let node: FieldSet = {};
    for (let i = path.length - 1; i >= 0; i--) node = { [path[i] ?? '']: node };
    set = union(set, node);
  }
  return set;
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

/** A FieldSet read from stored or user-given JSON; anything malformed is undefined. */
export function toFieldSet(value: unknown, depth = 0): FieldSet | undefined {
  if (depth > 100 || typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, FieldSet> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key !== self && !/^[fkvi]:/.test(key)) return undefined;
    const node = toFieldSet(child, depth + 1);
    if (node === undefined) return undefined;
    out[key] = node;
  }
  return out;
}
