// Objects the scheduler wrote itself, kept until its informers catch up (Kubernetes' assume
// cache): the next decision must not read an older copy and, say, hand one volume to two claims.
import type { KubeObject } from '../api/meta.js';
import { compareResourceVersions, objectKey } from '../api/meta.js';

export class WrittenObjects {
  private readonly objects = new Map<string, KubeObject>();

  private static keyOf(obj: KubeObject): string {
    return `${obj.kind}/${objectKey(obj)}`;
  }

  remember(obj: KubeObject): void {
    const key = WrittenObjects.keyOf(obj);
    const known = this.objects.get(key);
    if (
      !known ||
      compareResourceVersions(obj.metadata.resourceVersion, known.metadata.resourceVersion) >= 0
    ) {
      this.objects.set(key, obj);
    }
  }

  /** The newer of the informer's copy and ours; once the informer has caught up ours is dropped. */
  fresher<T extends KubeObject>(cached: T | undefined): T | undefined {
    if (!cached) return undefined;
    const key = WrittenObjects.keyOf(cached);
    const ours = this.objects.get(key);
    if (!ours) return cached;
    if (ours.metadata.uid !== cached.metadata.uid) {
      this.objects.delete(key);
      return cached;
    }
    if (compareResourceVersions(cached.metadata.resourceVersion, ours.metadata.resourceVersion) >= 0) {
      this.objects.delete(key);
      return cached;
    }
    return ours as T;
  }

  /** The informer delivered `obj`: drop our copy if it is no newer, so the map stays small. */
  observe(obj: KubeObject): void {
    this.fresher(obj);
  }

  forget(obj: KubeObject): void {
    this.objects.delete(WrittenObjects.keyOf(obj));
  }

  size(): number {
    return this.objects.size;
  }
}
