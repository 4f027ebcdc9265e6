// One FlexVolume call-out: run `<driver> <command> args...` (never through a shell) with a timeout,
// and turn what it printed into a typed answer. "Success" and "Not supported" are answers; a
// "Failure", output that is not a status object, a timeout or a crash is a FlexError.
import { z } from 'zod';
import type { Exec } from '../host/exec.js';
import { ExecError } from '../host/exec.js';

export const FLEX_COMMANDS = [
  'init',
  'attach',
  'detach',
  'waitforattach',
  'isattached',
  'mountdevice',
  'unmountdevice',
  'mount',
  'unmount',
  'getvolumename',
  'expandvolume',
  'expandfs',
] as const;
export type FlexCommand = (typeof FLEX_COMMANDS)[number];

export const NOT_SUPPORTED = 'Not supported';

const capabilitiesSchema = z.looseObject({
  attach: z.boolean().optional(),
  selinuxRelabel: z.boolean().optional(),
  supportsMetrics: z.boolean().optional(),
  fsGroup: z.boolean().optional(),
  requiresFSResize: z.boolean().optional(),
});

/** What a driver prints; unknown fields are tolerated, wrong types are not. */
export const driverStatusSchema = z.looseObject({
  status: z.enum(['Success', 'Failure', NOT_SUPPORTED]),
  message: z.string().optional(),
  device: z.string().optional(),
  volumeName: z.string().optional(),
  attached: z.boolean().optional(),
  capabilities: capabilitiesSchema.optional(),
  volumeNewSize: z.number().optional(),
});
export type DriverStatus = z.infer<typeof driverStatusSchema>;

/** NoDriver: the volume names a driver that is not installed (or whose init fails). */
export type FlexErrorKind = 'Failure' | 'BadOutput' | 'Timeout' | 'Crash' | 'NoDriver';

export class FlexError extends Error {
  readonly kind: FlexErrorKind;
  readonly driver: string;
  readonly command: FlexCommand;
  /** What the driver printed (trimmed, at most 2 KiB), for events and logs. */
  readonly output: string;

  constructor(
    kind: FlexErrorKind,
    driver: string,
    command: FlexCommand,
    detail: string,
    options: { output?: string; cause?: unknown } = {},
  ) {
    super(`flexvolume ${driver}: ${command} ${detail}`, { cause: options.cause });
    this.name = 'FlexError';
    this.kind = kind;
    this.driver = driver;
    this.command = command;
    this.output = options.output ?? '';
  }
}

export function isFlexError(err: unknown, kind?: FlexErrorKind): err is FlexError {
  return err instanceof FlexError && (kind === undefined || err.kind === kind);
}

export type CallResult = { supported: true; status: DriverStatus } | { supported: false; message: string };

export interface CallTarget {
  /** "vendor/driver", for messages. */
  driver: string;
  /** The executable. */
  path: string;
}

export const DEFAULT_CALL_TIMEOUT_MS = 2 * 60_000;
/** How long past its timeout a call may take to be killed before the host stops waiting for it. */
const KILL_GRACE_MS = 10_000;
const MAX_OUTPUT_CHARS = 2048;
/** Every exit code: a driver reports "Failure" with exit 1, and we still want what it printed. */
const ALL_EXIT_CODES = Array.from({ length: 255 }, (_, i) => i + 1);

/** Parses a driver's stdout: one JSON object, or log lines with the JSON object last (pure). */
export function parseDriverOutput(stdout: string): DriverStatus | { error: string } {
  const text = stdout.trim();
  if (text === '') return { error: 'printed nothing' };
  const candidates = [text];
  const lastLine = text.split('\n').at(-1)?.trim();
  if (lastLine && lastLine !== text) candidates.push(lastLine);
  let problem = 'printed no JSON';
  for (const candidate of candidates) {
    let value: unknown;
    try {
      value = JSON.parse(candidate);
    } catch {
      continue;
    }
    const parsed = driverStatusSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    problem = `printed JSON that is not a driver status (${parsed.error.issues
      .map((i) => `${i.path.join('.') || 'value'}: ${i.message}`)
      .join('; ')})`;
  }
  return { error: problem };
}

/** Decides what one finished call means (pure). */
export function interpretCall(
  target: CallTarget,
  command: FlexCommand,
  result: { stdout: string; exitCode: number },
): CallResult {
  const output = clip(result.stdout);
  const parsed = parseDriverOutput(result.stdout);
  if ('error' in parsed) {
    const exit = result.exitCode === 0 ? '' : ` and exited with ${result.exitCode}`;
    throw new FlexError('BadOutput', target.driver, command, `${parsed.error}${exit}: ${quote(output)}`, {
      output,
    });
  }
  // A driver that does not implement a command answers so, whatever its exit code.
  if (parsed.status === NOT_SUPPORTED) return { supported: false, message: parsed.message ?? '' };
  if (parsed.status === 'Failure') {
    throw new FlexError('Failure', target.driver, command, `failed: ${parsed.message ?? '(no message)'}`, {
      output,
    });
  }
  if (result.exitCode !== 0) {
    throw new FlexError(
      'BadOutput',
      target.driver,
      command,
      `reported Success but exited with ${result.exitCode} (driver bug)`,
      { output },
    );
  }
  return { supported: true, status: parsed };
}

export interface CallOptions {
  timeoutMs?: number;
}

/** Runs one call-out. Never hangs past timeout + a short grace, even if the driver ignores signals. */
export async function callDriver(
  exec: Exec,
  target: CallTarget,
  command: FlexCommand,
  args: readonly string[],
  options: CallOptions = {},
): Promise<CallResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  let guard: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    guard = setTimeout(
      () => reject(new FlexError('Timeout', target.driver, command, `timed out after ${timeoutMs} ms`)),
      timeoutMs + KILL_GRACE_MS,
    );
    guard.unref();
  });
  try {
    const run = exec.run(target.path, [command, ...args], { timeoutMs, okExitCodes: ALL_EXIT_CODES });
    const result = await Promise.race([run, stuck]);
    return interpretCall(target, command, result);
  } catch (err) {
    if (err instanceof FlexError) throw err;
    if (err instanceof ExecError && err.timedOut) {
      throw new FlexError('Timeout', target.driver, command, `timed out after ${timeoutMs} ms`, {
        cause: err,
      });
    }
    throw new FlexError('Crash', target.driver, command, crashDetail(err), { cause: err });
  } finally {
    clearTimeout(guard);
  }
}

/** Why a driver process ended without an answer; never the arguments, which may carry secrets. */
function crashDetail(err: unknown): string {
  if (!(err instanceof ExecError))
    return `could not run: ${err instanceof Error ? err.message : String(err)}`;
  const stderr = clip(err.stderr);
  const cause = err.cause instanceof Error ? err.cause.message : '';
  const how =
    err.exitCode === undefined
      ? `was killed or could not start${cause ? ` (${cause})` : ''}`
      : `exited with ${err.exitCode}`;
  return `${how}${stderr ? `: ${quote(stderr)}` : ''}`;
}

function clip(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > MAX_OUTPUT_CHARS ? `${trimmed.slice(0, MAX_OUTPUT_CHARS)}...` : trimmed;
}

function quote(text: string): string {
  return text === '' ? '(empty)' : JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}
