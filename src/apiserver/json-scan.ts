// A single pass over a JSON text, without recursion, before it is parsed: how deep it nests and
// which object keys repeat. JSON.parse accepts both silently; the API server refuses nesting
// deeper than the Go decoder's limit (400 rather than a stack overflow later) and, under strict
// field validation, names the duplicate fields.

/**
 * Kubernetes inherits the Go decoder's limit of 10,000 levels. berth's decoding, defaulting and
 * merging recurse and overflow the stack at about 5,000 (a 500), so it refuses earlier: no real
 * object nests a tenth as deep.
 */
export const MAX_JSON_DEPTH = 1_000;

export interface JsonScan {
  /** True when some container nests deeper than MAX_JSON_DEPTH. */
  tooDeep: boolean;
  /** Field paths of keys that appear twice in one object ("metadata.name", "spec.containers[0].image"). */
  duplicates: string[];
}

interface Frame {
  array: boolean;
  /** The frame's path, as field errors print it. */
  path: string;
  keys: Set<string>;
  index: number;
  /** The key just read in an object, waiting for its value. */
  pendingKey: string | undefined;
}

function childPath(parent: Frame | undefined): string {
  if (!parent) return '';
  if (parent.array) return `${parent.path}[${parent.index}]`;
  const key = parent.pendingKey ?? '';
  return parent.path ? `${parent.path}.${key}` : key;
}

/** Reads the string starting at text[start] === '"'; returns its value and the index after it. */
function readString(text: string, start: number): { value: string; end: number } {
  let i = start + 1;
  let escaped = false;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (escaped) escaped = false;
    else if (c === 0x5c) escaped = true;
    else if (c === 0x22) break;
    i++;
  }
  const raw = text.slice(start, i + 1);
  let value: string;
  try {
    value = JSON.parse(raw) as string;
  } catch {
    value = raw; // JSON.parse reports the malformed text afterwards
  }
  return { value, end: i + 1 };
}

/** Scans a JSON text; malformed input is left for JSON.parse to report. */
export function scanJson(text: string): JsonScan {
  const stack: Frame[] = [];
  const duplicates: string[] = [];
  for (let i = 0; i < text.length;) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '{' || c === '[') {
      if (stack.length >= MAX_JSON_DEPTH) return { tooDeep: true, duplicates };
      stack.push({
        array: c === '[',
        path: childPath(top),
        keys: new Set(),
        index: 0,
        pendingKey: undefined,
      });
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === ',') {
      if (top?.array) top.index++;
      else if (top) top.pendingKey = undefined;
      i++;
    } else if (c === '"') {
      const { value, end } = readString(text, i);
      // a string in an object with no pending key is a key
      if (top && !top.array && top.pendingKey === undefined) {
        if (top.keys.has(value)) duplicates.push(top.path ? `${top.path}.${value}` : value);
        top.keys.add(value);
        top.pendingKey = value;
      }
      i = end;
    } else {
      i++;
    }
  }
  return { tooDeep: false, duplicates };
}

/** True when `value` nests containers deeper than `limit` (recursion bounded by the limit). */
function deeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    if (deeperThan(child, limit - 1)) return true;
  }
  return false;
}

/**
 * scanJson's answer without the scan, for the common body that is exactly JSON.stringify of
 * what it parsed to (compact, no repeated keys: a repeated key would be missing from the
 * output); undefined for any other text, which scanJson must read.
 */
export function scanParsedJson(text: string, value: unknown): JsonScan | undefined {
  let canonical: string;
  try {
    canonical = JSON.stringify(value);
  } catch {
    return undefined; // nested too deep to serialise: the scan says how deep
  }
  const end = text.length - (text.endsWith('\n') ? 1 : 0);
  if (canonical.length !== end || !text.startsWith(canonical)) return undefined;
  return { tooDeep: deeperThan(value, MAX_JSON_DEPTH), duplicates: [] };
}

/** The nesting depth of a parsed value (YAML bodies), counted without recursion. */
export function nestingDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > limit) return deepest;
    for (const child of Object.values(current)) pending.push([child, here]);
  }
  return deepest;
}
