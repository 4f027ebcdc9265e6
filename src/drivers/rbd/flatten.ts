// Background flattens, one per image at a time, as ceph-csi hands them to the manager's task
// queue: a clone deeper than the soft limit is flattened while it is already in use; deeper than
// the hard limit (or standing in the way of a delete) the call answers "not yet" until it is done.
import type { Logger } from '../../machinery/logger.js';
import type { CephTarget } from './ceph-cli.js';
import type { ImageSpec, RbdImages } from './images.js';
import { CLONE_SNAPSHOT_PREFIX } from './names.js';

/** ceph-csi's defaults (--rbdsoftmaxclonedepth, --rbdhardmaxclonedepth). */
export const DEFAULT_SOFT_CLONE_DEPTH = 4;
export const DEFAULT_HARD_CLONE_DEPTH = 8;
/** A flatten copies the whole image; it gets far longer than one ceph command. */
export const FLATTEN_TIMEOUT_MS = 60 * 60_000;

export interface CloneDepthLimits {
  soft: number;
  hard: number;
}

export type FlattenState = { state: 'running' } | { state: 'failed'; error: string } | { state: 'idle' };

const keyOf = (image: ImageSpec) => `${image.pool}/${image.image}`;

export class Flattener {
  private readonly images: RbdImages;
  private readonly log: Logger;
  private readonly running = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, string>();

  constructor(images: RbdImages, log: Logger) {
    this.images = images;
    this.log = log;
  }

  state(image: ImageSpec): FlattenState {
    if (this.running.has(keyOf(image))) return { state: 'running' };
    const error = this.failures.get(keyOf(image));
    return error === undefined ? { state: 'idle' } : { state: 'failed', error };
  }

  /**
   * Starts flattening `image` unless that already runs. When it is done, a volume-clone snapshot
   * it came from is removed if nothing else hangs on it (it existed only for this clone).
   */
  start(target: CephTarget, image: ImageSpec): void {
    const key = keyOf(image);
    if (this.running.has(key)) return;
    this.failures.delete(key);
    const work = (async () => {
      const parent = (await this.images.info(target, image))?.parent;
      if (!parent) return;
      this.log.info('flattening image', { image: key, parent: `${keyOf(parent)}@${parent.snapshot}` });
      await this.images.flatten(target, image, FLATTEN_TIMEOUT_MS);
      this.log.info('image flattened', { image: key });
      if (parent.snapshot.startsWith(CLONE_SNAPSHOT_PREFIX)) {
        // Best effort: a DeleteVolume of the source may be removing the snapshot (or the image) too.
        try {
          if ((await this.images.children(target, parent)).length === 0) {
            await this.images.removeSnapshot(target, parent);
          }
        } catch (err) {
          this.log.warn('clone snapshot left for the next delete', {
            snapshot: `${keyOf(parent)}@${parent.snapshot}`,
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
    })()
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.failures.set(key, message);
        this.log.error('flatten failed', { image: key, error: message });
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, work);
  }

  /** Resolves when every flatten started so far has ended (for shutdown and tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.running.values()]);
  }
}
