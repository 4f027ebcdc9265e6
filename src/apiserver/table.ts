// meta.k8s.io/v1 Table responses, as `kubectl get` asks for them (Accept: ...;as=Table;...).
import type { KubeObject } from '../api/meta.js';
import { printerFor } from './printers.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** True when the Accept header asks for a Table (kubectl sends it with fallbacks after a comma). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept
    .split(',')
    .some(
      (part) =>
        /;\s*as=Table/.test(part) && /;\s*g=meta\.k8s\.io/.test(part) && /;\s*v=v1(;|$|\s)/.test(part),
    );
}

export function parseIncludeObject(value: string | null): IncludeObject {
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

function rowObject(obj: KubeObject, include: IncludeObject): Record<string, unknown> | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function toTable(
  kind: string,
  objects: readonly KubeObject[],
  options: { now: Date; include: IncludeObject; resourceVersion?: string; noHeaders?: boolean },
): Record<string, unknown> {
  const printer = printerFor(kind);
  const rows = objects.map((obj) => {
    const object = rowObject(obj, options.include);
    return { cells: printer.cells(obj, options.now), ...(object ? { object } : {}) };
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: options.resourceVersion ? { resourceVersion: options.resourceVersion } : {},
    columnDefinitions: options.noHeaders ? [] : printer.columns,
    rows,
  };
}
