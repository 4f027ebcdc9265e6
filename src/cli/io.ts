// What a CLI command may touch: its output streams, stdin, environment and a stop signal.
// main.ts binds these to the process; tests pass their own.

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Read by `-f -`. */
  stdin?: AsyncIterable<string | Uint8Array>;
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Aborting stops long-running commands (`up`, `get -w`) cleanly; main.ts aborts on SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Relative -f paths resolve against this; defaults to process.cwd(). */
  cwd?: string;
  /**
   * Ends the process at once with this status (a controller-manager that lost its lease must stop
   * acting now, not after a clean shutdown). main.ts binds process.exit; without it, commands return.
   */
  exit?: (code: number) => void;
}

/** Usage mistakes: printed as `error: ...` and exit code 1, like kubectl. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export async function readAll(input: AsyncIterable<string | Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of input)
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}
