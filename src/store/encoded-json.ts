// The JSON text a store serialised an object to (for its log), remembered beside the copy it
// hands back, so that the API server answers a write with that text instead of serialising the
// same object a second time. Only for a copy nobody changed since: the API server looks it up
// as it answers, straight after the write returned it.
const encoded = new WeakMap<object, string>();

/** Records that `obj` serialises to `json` (JSON.stringify's compact text); returns `obj`. */
export function withEncodedJson<T extends object>(obj: T, json: string): T {
  encoded.set(obj, json);
  return obj;
}

/** The JSON text recorded for `obj`, if any. */
export function encodedJsonOf(obj: unknown): string | undefined {
  return typeof obj === 'object' && obj !== null ? encoded.get(obj) : undefined;
}
