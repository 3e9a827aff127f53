/** Retry with full-jitter backoff through injected timers, for the one-shot reports. */
import { codeOf } from '@gastown/protocol';
import type { ErrorCode, RandomSource } from '@gastown/protocol';
import { backoffDelayMs } from '../broker/refresh-schedule';
import type { Logger } from '../log/logger';
import type { Timers } from '../timers';

/** Codes a retry cannot fix: the request itself, or the agent's standing, is wrong. */
export const NON_RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad_json',
  'validation_failed',
  'payload_too_large',
  'unsupported_media_type',
  'role_forbidden',
  'token_scope',
  'token_revoked',
  'refresh_invalid',
  'refresh_reused',
  'not_found',
  'conflict',
]);

export function isRetryable(err: unknown): boolean {
  // a foreign error's fallback code (internal) is not in the set: retryable
  return !NON_RETRYABLE_CODES.has(codeOf(err));
}

export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => {
    timers.setTimeout(resolve, ms);
  });
}

export interface RetryOptions {
  timers: Timers;
  random: RandomSource;
  logger: Logger;
  /** Total attempts, the first included. Default 5. */
  attempts?: number;
  baseMs?: number;
  capMs?: number;
  /** What is being retried, for the log (`completion`, `merge_result`). */
  label: string;
}

export const DEFAULT_REPORT_ATTEMPTS = 5;

/** Run `fn`; on a retryable failure wait a full-jitter backoff and try again, up to `attempts`. Throws the last error. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_REPORT_ATTEMPTS);
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      const code = codeOf(err);
      const last = attempt + 1 >= attempts || !isRetryable(err);
      if (last) {
        options.logger.error(`${options.label}.failed`, { code, attempts: attempt + 1 });
        throw err;
      }
      const delayMs = backoffDelayMs(attempt, options.random, options.baseMs, options.capMs);
      options.logger.warn(`${options.label}.retry`, { code, attempt: attempt + 1, retryInMs: delayMs });
      await sleep(options.timers, delayMs);
    }
  }
}
