// The `berth` executable: binds runCli to this process (argv, stdio, env, signals). bin/berth.js
// calls main() on the compiled file; `node --import tsx src/cli/main.ts` runs it from sources;
// importing it (tests) only exports runCli.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CliIo } from './io.js';
import { runCli } from './run.js';

export { runCli } from './run.js';
export type { CliIo } from './io.js';

function isProgramEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  let real: string;
  try {
    real = realpathSync(entry);
  } catch {
    return false;
  }
  return real === fileURLToPath(import.meta.url);
}

export async function main(): Promise<void> {
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // A second Ctrl-C means "now": skip the clean shutdown.
    if (signals > 1) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `berth get pvc | head`: a reader that went away ends the output, as it does for kubectl.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    signal: stop.signal,
    cwd: process.cwd(),
    exit: (code) => process.exit(code),
  };
  const code = await runCli(process.argv.slice(2), io);
  process.exitCode = code;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

if (isProgramEntry()) await main();
