import type { Clock } from '@gastown/protocol';
import { GastownError, systemClock } from '@gastown/protocol';
import { redactString, redactValue } from './redact';
import { SecretRegistry } from './secret-registry';

/** Structured logger: one JSON line per call. Never pass a secret in `fields`. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Anything with a `write(string)`: process.stdout, a file stream, an array in tests. */
export interface LineSink {
  write(line: string): unknown;
}

export interface LoggerOptions {
  stream: LineSink;
  /** Lines below this level are dropped. Default 'info'. */
  level?: LogLevel;
  /** Values that must never reach the stream. A fresh empty registry when omitted. */
  secrets?: SecretRegistry;
  clock?: Clock;
  /** Fields on every line (component, instance id…). */
  fields?: Record<string, unknown>;
}

/** Reserved keys a caller's fields cannot overwrite. */
const RESERVED = new Set(['time', 'level', 'msg']);

/**
 * A JSON-lines logger. Every line passes the redaction pass: registered secrets and the token
 * shapes of SECRET_PATTERNS (JWTs, `gtr_`/`gtb_` credentials, provider keys, private keys…)
 * become `[redacted:<first 8 hex of sha256>]`.
 */
export function createLogger(options: LoggerOptions): Logger & { readonly secrets: SecretRegistry } {
  const secrets = options.secrets ?? new SecretRegistry();
  const minRank = LOG_LEVELS.indexOf(options.level ?? 'info');
  if (minRank < 0) throw new GastownError('config_invalid', `unknown log level ${String(options.level)}`);
  const clock = options.clock ?? systemClock;
  return build(options.stream, minRank, secrets, clock, options.fields ?? {});
}

function build(
  stream: LineSink,
  minRank: number,
  secrets: SecretRegistry,
  clock: Clock,
  bound: Record<string, unknown>,
): Logger & { readonly secrets: SecretRegistry } {
  function write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (LOG_LEVELS.indexOf(level) < minRank) return;
    const values = secrets.values();
    const merged: Record<string, unknown> = {};
    for (const [key, value] of Object.entries({ ...bound, ...fields })) {
      merged[RESERVED.has(key) ? `field_${key}` : key] = value;
    }
    const record = {
      time: new Date(clock.now()).toISOString(),
      level,
      msg: redactString(msg, values),
      ...(redactValue(merged, values) as Record<string, unknown>),
    };
    // Second pass over the serialised line: catches a secret split across JSON escaping boundaries.
    stream.write(`${redactString(JSON.stringify(record), values)}\n`);
  }
  return {
    secrets,
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => build(stream, minRank, secrets, clock, { ...bound, ...fields }),
  };
}

/** A logger that prints nothing (tests, tools). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
