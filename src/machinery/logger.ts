// Structured logging for controllers: a small Logger interface, a JSON-lines implementation that
// writes one object per line to any writable stream, and a silent logger for tests.
// Kept dependency-free on purpose; a pino adapter can implement the same interface later.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line it writes. */
  child(fields: LogFields): Logger;
}

/** The one method of a writable stream the logger needs (process.stderr, a file stream, a test sink). */
export interface LineSink {
  write(chunk: string): unknown;
}

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLoggerOptions {
  /** Lines below this level are dropped. Default 'info'. */
  level?: LogLevel;
  /** Fields added to every line. */
  fields?: LogFields;
  /** Injected for deterministic tests; default `new Date()`. */
  now?: () => Date;
}

/** Turns values JSON cannot carry (errors, bigints) into something readable. */
function toJsonSafe(value: unknown): unknown {
  if (value instanceof Error) {
    const out: LogFields = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    const reason = (value as { reason?: unknown }).reason;
    if (code !== undefined) out['code'] = code;
    if (reason !== undefined) out['reason'] = reason;
    if (value.stack) out['stack'] = value.stack;
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export class JsonLogger implements Logger {
  readonly level: LogLevel;
  private readonly sink: LineSink;
  private readonly fields: LogFields;
  private readonly now: () => Date;

  constructor(sink: LineSink, options: JsonLoggerOptions = {}) {
    this.sink = sink;
    this.level = options.level ?? 'info';
    this.fields = options.fields ?? {};
    this.now = options.now ?? (() => new Date());
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.sink, {
      level: this.level,
      fields: { ...this.fields, ...fields },
      now: this.now,
    });
  }

  private write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (levelRank[level] < levelRank[this.level]) return;
    const record = { time: this.now().toISOString(), level, msg, ...this.fields, ...fields };
    let line: string;
    try {
      line = JSON.stringify(record, (_key, value: unknown) => toJsonSafe(value));
    } catch {
      // Circular fields must not turn a log call into a crash.
      line = JSON.stringify({ time: record.time, level, msg, logError: 'fields not serializable' });
    }
    this.sink.write(line + '\n');
  }
}

class SilentLogger implements Logger {
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(): void {}
  child(): Logger {
    return this;
  }
}

/** Drops everything; for tests and for callers that do not care. */
export const silentLogger: Logger = new SilentLogger();
