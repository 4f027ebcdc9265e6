// An ObjectStore that notes every call as the RBAC verb and resource it would need from a real
// API server ("get persistentvolumes", "update persistentvolumeclaims/status", ...), then passes
// it on. Tests compare what a component did with the rules it is deployed with.
import type { KindInfo } from '../../src/api/kinds.js';
import type { ObjectStore, WriteOptions } from '../../src/store/types.js';

/** "VERB GROUP/RESOURCE[/SUBRESOURCE]"; the core group is written "". */
export function permission(verb: string, kind: KindInfo, subresource?: string): string {
  return `${verb} ${kind.group}/${kind.plural}${subresource ? `/${subresource}` : ''}`;
}

export function recordingStore(inner: ObjectStore, seen: Set<string>): ObjectStore {
  const note = (verb: string, kind: KindInfo, options?: WriteOptions): void => {
    if (options?.subresource === 'binding') seen.add(permission('create', kind, 'binding'));
    else seen.add(permission(verb, kind, options?.subresource));
  };
  return {
    get: (kind, ns, name) => (note('get', kind), inner.get(kind, ns, name)),
    list: (kind, options) => (note('list', kind), inner.list(kind, options)),
    create: (kind, obj) => (note('create', kind), inner.create(kind, obj)),
    update: (kind, obj, options) => (note('update', kind, options), inner.update(kind, obj, options)),
    patch: (kind, ns, name, patch, options) => (
      note('patch', kind, options),
      inner.patch(kind, ns, name, patch, options)
    ),
    delete: (kind, ns, name, options) => (note('delete', kind), inner.delete(kind, ns, name, options)),
    watch: (kind, options, onEvent, onError) => (
      note('watch', kind),
      inner.watch(kind, options, onEvent, onError)
    ),
    currentRevision: () => inner.currentRevision(),
    close: () => Promise.resolve(),
  };
}
