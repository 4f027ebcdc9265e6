// Polling for asynchronous outcomes in integration tests: resolves with the first truthy value
// `fn` gives, or fails naming what it waited for. Errors thrown by `fn` count as "not yet".
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false | null>,
  timeoutMs = 30_000,
  pollMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** `eventually` with a file's own default deadline (and poll interval), e.g. to stay within its mocha timeout. */
export function eventuallyWithin(defaultTimeoutMs: number, pollMs = 25) {
  return <T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = defaultTimeoutMs) =>
    eventually(what, fn, timeoutMs, pollMs);
}
