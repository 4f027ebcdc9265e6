// Manifest files: multi-document YAML (or JSON) and `kind: List`, parsed the way kubectl reads
// them (YAML 1.1 scalars, as sigs.k8s.io/yaml does). Errors name the source, document and line.
import { LineCounter, parseAllDocuments } from 'yaml';
import { kindOfRaw } from './decode.js';
import { isStatusError } from './errors.js';
import type { KubeObject } from './meta.js';

export interface ManifestDocument {
  /** 1-based index of the YAML document in the source. */
  index: number;
  /** 1-based line where the document (or List item) starts. */
  line: number;
  object?: KubeObject;
  error?: string;
}

export class ManifestError extends Error {
  readonly documents: ManifestDocument[];
  constructor(message: string, documents: ManifestDocument[]) {
    super(message);
    this.name = 'ManifestError';
    this.documents = documents;
  }
}

function where(source: string, index: number, line: number): string {
  return `${source}: document ${index} (line ${line})`;
}

function checkKind(raw: unknown): string | undefined {
  try {
    kindOfRaw(raw);
    return undefined;
  } catch (e) {
    if (isStatusError(e)) return e.message;
    throw e;
  }
}

/** Every document of a manifest text, each with its object or its error. Never throws. */
export function parseManifests(text: string, source: string): ManifestDocument[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { version: '1.1', lineCounter, uniqueKeys: true });
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: ManifestDocument[] = [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lineCounter.linePos(start).line;
    const problem = doc.errors[0];
    if (problem) {
      const at = problem.linePos?.[0];
      out.push({
        index,
        line: at?.line ?? line,
        error: `${where(source, index, at?.line ?? line)}: ${problem.message.split('\n')[0]}`,
      });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document
    const record = value as Record<string, unknown>;
    if (record['kind'] === 'List' && Array.isArray(record['items'])) {
      record['items'].forEach((item: unknown, j) => {
        const itemNode = (doc.getIn(['items', j], true) as { range?: [number, number] } | undefined)?.range;
        const itemLine = itemNode ? lineCounter.linePos(itemNode[0]).line : line;
        const error = checkKind(item);
        out.push(
          error
            ? { index, line: itemLine, error: `${where(source, index, itemLine)}: items[${j}]: ${error}` }
            : { index, line: itemLine, object: item as KubeObject },
        );
      });
      return;
    }
    const error = checkKind(value);
    out.push(
      error
        ? { index, line, error: `${where(source, index, line)}: ${error}` }
        : { index, line, object: value as KubeObject },
    );
  });
  return out;
}

/** All objects of a manifest text; throws a ManifestError listing every bad document. */
export function loadManifests(text: string, source: string): KubeObject[] {
  const docs = parseManifests(text, source);
  const errors = docs.filter((d) => d.error !== undefined).map((d) => d.error);
  if (errors.length > 0) throw new ManifestError(errors.join('\n'), docs);
  return docs.map((d) => d.object).filter((o): o is KubeObject => o !== undefined);
}
