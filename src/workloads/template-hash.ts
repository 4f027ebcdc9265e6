// The pod-template-hash Kubernetes gives a Deployment's ReplicaSets: a 32-bit FNV-1a hash of the
// pod template (and the collision count, when there is one), its decimal digits spelled in the
// alphabet of rand.SafeEncodeString (no vowels, no look-alike digits), so a name never reads as a
// word. The hash input is the template's canonical JSON, so equal templates hash alike.
export const LABEL_TEMPLATE_HASH = 'pod-template-hash';

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function safeEncode(text: string): string {
  return [...text].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

export function templateHash(template: unknown, collisionCount?: number): string {
  const input = canonicalJson(template) + (collisionCount ? `/${collisionCount}` : '');
  return safeEncode(String(fnv32a(input)));
}

/** The template without the hash label, for comparing a ReplicaSet's template with its Deployment's. */
export function withoutHashLabel<T extends { metadata?: { labels?: Record<string, string> } }>(
  template: T,
): T {
  const copy = structuredClone(template);
  const labels = copy.metadata?.labels;
  if (labels && LABEL_TEMPLATE_HASH in labels) {
    delete labels[LABEL_TEMPLATE_HASH];
    if (Object.keys(labels).length === 0 && copy.metadata) delete copy.metadata.labels;
  }
  return copy;
}
