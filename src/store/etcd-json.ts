// A stored value as the JSON a watch sends, without parsing it: the value is the object's JSON
// without resourceVersion (encodeObject in etcd-keys.ts leaves it out: the key's mod_revision is the
// one resourceVersion), so the object with its resourceVersion is the same bytes with
// `"resourceVersion":"<mod_revision>"` added to the top-level metadata. Only the members before
// metadata are skipped (apiVersion and kind, as objects are written). A watch stream then sends
// the stored bytes instead of parsing and serialising every event again.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const METADATA = Buffer.from('"metadata"');

function skipSpace(json: Buffer, at: number): number {
  while (
    at < json.length &&
    (json[at] === 0x20 || json[at] === 0x0a || json[at] === 0x0d || json[at] === 0x09)
  )
    at++;
  return at;
}

/** The index after the string that starts at json[at] (a quote). */
function skipString(json: Buffer, at: number): number {
  for (let i = at + 1; i < json.length; i++) {
    if (json[i] === BACKSLASH) i++;
    else if (json[i] === QUOTE) return i + 1;
  }
  return -1;
}

/** The index after the value that starts at json[at]. */
function skipValue(json: Buffer, at: number): number {
  const first = json[at];
  if (first === QUOTE) return skipString(json, at);
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
    // a number, true, false or null: up to the next delimiter
    let i = at;
    while (i < json.length && json[i] !== COMMA && json[i] !== CLOSE_OBJECT && json[i] !== CLOSE_ARRAY) i++;
    return i;
  }
  let depth = 0;
  for (let i = at; i < json.length; i++) {
    const c = json[i];
    if (c === QUOTE) {
      i = skipString(json, i) - 1;
      if (i < 0) return -1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * Pure: the object `stored` (valid JSON of an object whose metadata has no resourceVersion, as
 * encodeObject writes it) with metadata.resourceVersion = `revision`, or undefined when it is not
 * an object with an object `metadata` (the caller then parses and serialises).
 */
export function jsonWithResourceVersion(stored: Buffer, revision: string): Buffer | undefined {
  let at = skipSpace(stored, 0);
  if (stored[at] !== OPEN_OBJECT) return undefined;
  at = skipSpace(stored, at + 1);
  while (at < stored.length && stored[at] === QUOTE) {
    const keyEnd = skipString(stored, at);
    if (keyEnd < 0) return undefined;
    const isMetadata =
      keyEnd - at === METADATA.length && stored.compare(METADATA, 0, METADATA.length, at, keyEnd) === 0;
    at = skipSpace(stored, keyEnd);
    if (stored[at] !== COLON) return undefined;
    const valueStart = skipSpace(stored, at + 1);
    if (isMetadata) {
      if (stored[valueStart] !== OPEN_OBJECT) return undefined;
      const open = valueStart + 1;
      const empty = stored[skipSpace(stored, open)] === CLOSE_OBJECT;
      const member = `"resourceVersion":${JSON.stringify(revision)}${empty ? '' : ','}`;
      return Buffer.concat([stored.subarray(0, open), Buffer.from(member), stored.subarray(open)]);
    }
    const valueEnd = skipValue(stored, valueStart);
    if (valueEnd < 0) return undefined;
    at = skipSpace(stored, valueEnd);
    if (stored[at] !== COMMA) return undefined;
    at = skipSpace(stored, at + 1);
  }
  return undefined;
}
