// How objects sit in etcd: one key per object under <prefix>/<resource>/<namespace>/<name> (or
// <prefix>/<resource>/<name> for cluster-scoped kinds), where <resource> is "plural.group" as
// Kubernetes names resources. The value is the object as JSON without resourceVersion: the
// key's mod_revision is the resourceVersion, so it can never disagree with etcd.
import type { IKeyValue } from 'etcd3';
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { resourceName } from './object-rules.js';

export class EtcdKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Every object of `kind` (of one namespace, when given) lives under this prefix. */
  kindPrefix(kind: KindInfo, namespace?: string): string {
    const base = `${this.prefix}/${resourceName(kind)}/`;
    return kind.namespaced && namespace ? `${base}${namespace}/` : base;
  }

  /** The key of one object; `relative` is what paging tokens carry ("ns/name" or "name"). */
  objectKey(kind: KindInfo, namespace: string | undefined, name: string): string {
    return `${this.kindPrefix(kind)}${this.relative(kind, namespace, name)}`;
  }

  relative(kind: KindInfo, namespace: string | undefined, name: string): string {
    return kind.namespaced && namespace ? `${namespace}/${name}` : name;
  }

  /** Where berth keeps data that is not an object (e.g. the API server's credentials). */
  bootstrapKey(name: string): string {
    return `${this.prefix}/berth.io/bootstrap/${name}`;
  }
}

/** The end of the key range of every key starting with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all keys
}

export function encodeObject(obj: KubeObject): Buffer {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata }));
}

/** The stored object with resourceVersion = the key's mod_revision (or `revision` when given). */
export function decodeObject(
  kv: Pick<IKeyValue, 'value' | 'mod_revision'>,
  revision: string = kv.mod_revision,
): KubeObject {
  const obj = JSON.parse(kv.value.toString('utf8')) as KubeObject;
  obj.metadata = { ...obj.metadata, resourceVersion: revision };
  return obj;
}
