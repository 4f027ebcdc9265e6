// Waiting for something to become true by asking again, with a deadline and a stop signal.

export type PollOutcome = 'met' | 'timeout' | 'aborted';

export interface PollOptions {
  /** Infinity = no deadline. */
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Calls `check` until it answers true, the deadline passes or the signal aborts. */
export async function pollUntil(check: () => Promise<boolean>, options: PollOptions): Promise<PollOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 200;
  for (;;) {
    if (options.signal?.aborted) return 'aborted';
    if (await check()) return 'met';
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    await delay(Math.min(interval, left), options.signal);
  }
}
