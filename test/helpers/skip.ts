// Skipping with a reason that the test summary prints: a test that cannot run here is skipped, never passed.
import type { Context } from 'mocha';

export function skipUnless(ctx: Context, condition: boolean, reason: string): void {
  if (condition) return;
  const test = ctx.currentTest ?? ctx.test;
  if (test) (test as unknown as { skipReason: string }).skipReason = reason;
  ctx.skip();
}

export const isRoot = process.getuid?.() === 0;
