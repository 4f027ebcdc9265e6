// A spinner on stderr for long waits, only for a person at a terminal (stdout is a TTY and CI is
// unset); otherwise nothing, so piped output and logs stay clean.
import type { CliIo } from './io.js';

export interface Progress {
  update(text: string): void;
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const noProgress: Progress = { update: () => undefined, stop: () => undefined };

export function wantsProgress(io: CliIo, env: Record<string, string | undefined>): boolean {
  return io.stdout.isTTY === true && !env['CI'];
}

export function startProgress(io: CliIo, env: Record<string, string | undefined>, text: string): Progress {
  if (!wantsProgress(io, env)) return noProgress;
  let label = text;
  let frame = 0;
  const draw = (): void => {
    io.stderr.write(`\r\x1b[K${FRAMES[frame % FRAMES.length] ?? ''} ${label}`);
    frame++;
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    update(next) {
      label = next;
    },
    stop() {
      clearInterval(timer);
      io.stderr.write('\r\x1b[K');
    },
  };
}
