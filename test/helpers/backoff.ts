// Asserting that retries of a driver call followed the shared back-off, from the calls the mock
// CSI driver recorded: each wait at least the jittered doubling of the one before.
import assert from 'node:assert/strict';
import { DEFAULT_JITTER } from '../../src/machinery/rate-limiter.js';
import type { RecordedCall } from '../mock-driver/driver.js';

/**
 * Retry i (1-based) came at least baseMs * 2^(i-1) * (1 - jitter) after the call before; the call
 * at index `hangAt` hung, so the wait after it counts from its timeout. 50 ms of slack for timers.
 */
export function assertBackoff(
  calls: readonly RecordedCall[],
  options: { baseMs: number; hangAt?: number; timeoutMs?: number },
): void {
  calls.slice(1).forEach((call, i) => {
    const gap = call.at - calls[i]!.at - (i === options.hangAt ? (options.timeoutMs ?? 0) : 0);
    const least = options.baseMs * 2 ** i * (1 - DEFAULT_JITTER) - 50;
    assert.ok(
      gap >= least,
      `retry ${i + 1} of ${call.method} came after ${gap} ms; the back-off asks ${least}`,
    );
  });
}
