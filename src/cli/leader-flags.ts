// kube-controller-manager's leader-election and connection flags, with its defaults:
// --leader-elect (true), --leader-elect-lease-duration=15s, --leader-elect-renew-deadline=10s,
// --leader-elect-retry-period=2s, --leader-elect-resource-namespace=kube-system,
// --leader-elect-resource-name; and --master (here: one API server URL or several, comma-separated).
// Pure: argv and flag values in, settings or a usage error naming the flag out.
import { dns1123LabelErrors, dns1123SubdomainErrors } from '../api/names.js';
import { parseDuration } from './duration-flag.js';
import { UsageError } from './io.js';

export const leaderElectionOptions = {
  'leader-elect-lease-duration': { type: 'string' },
  'leader-elect-renew-deadline': { type: 'string' },
  'leader-elect-retry-period': { type: 'string' },
  'leader-elect-resource-namespace': { type: 'string' },
  'leader-elect-resource-name': { type: 'string' },
  'leader-elect-resource-lock': { type: 'string' },
} as const;

/** berth's own Lease name, so it never fights a real kube-controller-manager for its lease. */
export const DEFAULT_LEASE_NAME = 'berth-controller-manager';

export interface LeaderElectionSettings {
  enabled: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  namespace: string;
  name: string;
}

type Values = Partial<Record<keyof typeof leaderElectionOptions, string>>;

/** Go's strconv.ParseBool, as pflag reads a boolean flag's value. */
function parseBool(flag: string, text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new UsageError(
    `invalid argument "${text}" for "--${flag}" flag: strconv.ParseBool: parsing "${text}": invalid syntax`,
  );
}

/**
 * Takes a boolean flag out of argv as pflag reads it (`--name`, `--name=false`; the last wins), so
 * the rest can go to parseArgs. `fallback` when absent.
 */
export function takeBoolFlag(argv: readonly string[], name: string, fallback: boolean): [boolean, string[]] {
  let value = fallback;
  const rest: string[] = [];
  for (const arg of argv) {
    if (arg === `--${name}`) value = true;
    else if (arg.startsWith(`--${name}=`)) value = parseBool(name, arg.slice(name.length + 3));
    else rest.push(arg);
  }
  return [value, rest];
}

function duration(values: Values, flag: keyof Values, fallbackMs: number): number {
  const text = values[flag];
  if (text === undefined) return fallbackMs;
  const ms = parseDuration(`--${flag}`, text);
  if (!(ms > 0))
    throw new UsageError(`invalid argument "${text}" for "--${flag}" flag: must be longer than 0s`);
  return ms;
}

export function parseLeaderElection(enabled: boolean, values: Values): LeaderElectionSettings {
  const lock = values['leader-elect-resource-lock'];
  if (lock !== undefined && lock !== 'leases') {
    throw new UsageError(
      `invalid argument "${lock}" for "--leader-elect-resource-lock" flag: only "leases" is supported`,
    );
  }
  const leaseDurationMs = duration(values, 'leader-elect-lease-duration', 15_000);
  const renewDeadlineMs = duration(values, 'leader-elect-renew-deadline', 10_000);
  const retryPeriodMs = duration(values, 'leader-elect-retry-period', 2_000);
  if (enabled && !(leaseDurationMs > renewDeadlineMs)) {
    throw new UsageError(
      `invalid argument "${values['leader-elect-renew-deadline'] ?? '10s'}" for "--leader-elect-renew-deadline" flag: must be shorter than --leader-elect-lease-duration`,
    );
  }
  if (enabled && !(renewDeadlineMs > retryPeriodMs)) {
    throw new UsageError(
      `invalid argument "${values['leader-elect-retry-period'] ?? '2s'}" for "--leader-elect-retry-period" flag: must be shorter than --leader-elect-renew-deadline`,
    );
  }
  const namespace = values['leader-elect-resource-namespace'] ?? 'kube-system';
  const nsErrors = dns1123LabelErrors(namespace);
  if (nsErrors.length > 0) {
    throw new UsageError(
      `invalid argument "${namespace}" for "--leader-elect-resource-namespace" flag: ${nsErrors.join('; ')}`,
    );
  }
  const name = values['leader-elect-resource-name'] ?? DEFAULT_LEASE_NAME;
  const nameErrors = dns1123SubdomainErrors(name);
  if (nameErrors.length > 0) {
    throw new UsageError(
      `invalid argument "${name}" for "--leader-elect-resource-name" flag: ${nameErrors.join('; ')}`,
    );
  }
  return { enabled, leaseDurationMs, renewDeadlineMs, retryPeriodMs, namespace, name };
}

/** --master: API server URLs (http or https), in the order to try them. */
export function parseMaster(text: string | undefined): string[] {
  if (text === undefined) return [];
  const urls = text.split(',').map((s) => s.trim());
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.host === '') {
      throw new UsageError(
        `invalid argument "${text}" for "--master" flag: "${url}" is not an http(s) URL like https://10.0.0.1:6443`,
      );
    }
  }
  return urls;
}
