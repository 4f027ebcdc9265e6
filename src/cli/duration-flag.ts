// Pure: Go-style durations as kubectl flags take them ("30s", "1m30s", "500ms", "2h"); a bare
// number means seconds.
import { UsageError } from './io.js';

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(flag: string, text: string): number {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new UsageError(
      `invalid argument "${text}" for "${flag}" flag: expected a duration like 30s, 2m or 1h30m`,
    );
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (unitMs[p[2] ?? 's'] ?? 0), 0);
}

/** An optional duration flag that must be longer than zero; undefined when not given. */
export function parsePositiveDuration(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(flag, text);
  if (ms <= 0) throw new UsageError(`invalid argument "${text}" for "${flag}" flag: must be longer than 0s`);
  return ms;
}
