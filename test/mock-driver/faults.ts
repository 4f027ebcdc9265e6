// Per-method fault queues for the mock CSI driver: each call to a method takes the next queued fault.
import { status } from '@grpc/grpc-js';

/** Exit code of a mock driver process that "died" on an injected fault. */
export const DIE_EXIT_CODE = 70;

export type Fault =
  /** Answer with this gRPC code instead of doing the work. */
  | { kind: 'error'; code: number; message?: string }
  /** Wait, then do the work normally. */
  | { kind: 'delay'; ms: number }
  /** Never answer (until the caller gives up or the server stops). */
  | { kind: 'hang' }
  /** Crash: 'before' the work, or 'after' the work but before answering. */
  | { kind: 'die'; phase: 'before' | 'after' };

export class FaultQueue {
  private readonly queues = new Map<string, Fault[]>();

  push(method: string, ...faults: Fault[]): void {
    const queue = this.queues.get(method) ?? [];
    queue.push(...faults);
    this.queues.set(method, queue);
  }

  take(method: string): Fault | undefined {
    return this.queues.get(method)?.shift();
  }

  clear(): void {
    this.queues.clear();
  }
}

/**
 * CLI form `Method:spec`, spec one of `error=CODE[:message]`, `delay=MS`, `hang`, `die`, `die-after`.
 * CODE is a gRPC status name (UNAVAILABLE) or number.
 */
export function parseFault(text: string): { method: string; fault: Fault } {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new Error(`fault "${text}" must look like Method:spec`);
  const method = text.slice(0, colon);
  const spec = text.slice(colon + 1);
  if (spec === 'hang') return { method, fault: { kind: 'hang' } };
  if (spec === 'die') return { method, fault: { kind: 'die', phase: 'before' } };
  if (spec === 'die-after') return { method, fault: { kind: 'die', phase: 'after' } };
  const delay = /^delay=(\d+)$/.exec(spec);
  if (delay) return { method, fault: { kind: 'delay', ms: Number(delay[1]) } };
  const error = /^error=([A-Z_]+|\d+)(?::(.*))?$/.exec(spec);
  if (error) {
    const name = error[1] ?? '';
    const code = /^\d+$/.test(name) ? Number(name) : (status as unknown as Record<string, number>)[name];
    if (code === undefined) throw new Error(`unknown gRPC status "${name}"`);
    const fault: Fault = error[2] ? { kind: 'error', code, message: error[2] } : { kind: 'error', code };
    return { method, fault };
  }
  throw new Error(`unknown fault spec "${spec}"`);
}
