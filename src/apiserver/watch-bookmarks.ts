// Watch bookmarks, as Kubernetes sends them to a watch that set allowWatchBookmarks: a BOOKMARK
// event whose object carries only kind, apiVersion and metadata.resourceVersion, a revision up to
// which every event of the watch has been sent (the store says so through onProgress, in order
// with the events). One is asked for about every minute and one 2 s before the stream's timeout,
// so the client resumes from a recent revision even when none of its own objects changed;
// without it, a watcher of a quiet collection resumes from a revision the history may have left,
// and has to list everything again.
import type { KindInfo } from '../api/kinds.js';
import type { Watch } from '../store/types.js';

export interface BookmarkTiming {
  /** Time between bookmarks; 0 sends none. */
  intervalMs: number;
  /** One is asked for this long before the deadline (when the deadline is further away). */
  beforeDeadlineMs: number;
}

export class WatchBookmarks {
  /** The newest revision this stream has sent, in an event or a bookmark. */
  private sent = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly kind: KindInfo;
  private readonly send: (event: { type: 'BOOKMARK'; object: unknown }) => void;

  constructor(kind: KindInfo, send: (event: { type: 'BOOKMARK'; object: unknown }) => void) {
    this.kind = kind;
    this.send = send;
  }

  /** Notes an event the stream sends. */
  noteSent(resourceVersion: string | undefined): void {
    const revision = Number(resourceVersion);
    if (revision > this.sent) this.sent = revision;
  }

  /** The store's answer: a bookmark, unless the stream has sent that revision already. */
  readonly onProgress = (revision: string): void => {
    const value = Number(revision);
    if (!(value > this.sent)) return;
    this.sent = value;
    const { group, version, kind } = this.kind;
    this.send({
      type: 'BOOKMARK',
      object: {
        kind,
        apiVersion: group ? `${group}/${version}` : version,
        metadata: { resourceVersion: revision },
      },
    });
  };

  /** Asks `watch` for progress at the next bookmark time, and so on until `deadline` (ms). */
  start(watch: Watch, timing: BookmarkTiming, deadline: number, now = Date.now): void {
    if (timing.intervalMs <= 0 || !watch.requestProgress) return;
    const at = Math.min(now() + timing.intervalMs, deadline - timing.beforeDeadlineMs);
    if (at <= now()) return;
    this.timer = setTimeout(() => {
      watch.requestProgress?.();
      this.start(watch, timing, deadline, now);
    }, at - now());
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
