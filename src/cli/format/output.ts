// Pure: names and machine-readable output as kubectl prints them.
import { stringify } from 'yaml';
import type { KindInfo } from '../../api/kinds.js';
import type { KubeObject } from '../../api/meta.js';

/** `persistentvolumeclaim` or `storageclass.storage.k8s.io`: kubectl's resource-type label. */
export function kindLabel(kind: KindInfo): string {
  return kind.group === '' ? kind.singular : `${kind.singular}.${kind.group}`;
}

/** `persistentvolumeclaim/claim1`, as `-o name` and `apply` print an object. */
export function objectName(kind: KindInfo, name: string): string {
  return `${kindLabel(kind)}/${name}`;
}

/** `persistentvolumeclaims/claim1`, as kubectl's wait errors name an object. */
export function pluralName(kind: KindInfo, name: string): string {
  return `${kind.group === '' ? kind.plural : `${kind.plural}.${kind.group}`}/${name}`;
}

export type MachineFormat = 'yaml' | 'json';

/** One object as itself; several (or a list request) as a v1 List, like kubectl. */
export function renderObjects(
  objects: readonly KubeObject[],
  format: MachineFormat,
  asList: boolean,
): string {
  const value =
    asList || objects.length !== 1
      ? { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } }
      : objects[0];
  return format === 'json' ? `${JSON.stringify(value, null, 4)}\n` : stringify(value);
}
