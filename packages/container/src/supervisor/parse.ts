import { GastownError } from '@gastown/protocol';
import type { z } from 'zod';

/**
 * Validate an untrusted body. Failure: GastownError('validation_failed') naming the
 * offending paths and rules, never echoing values (they may hold credentials).
 */
export function parseBody<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 10).map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.code}`);
  throw new GastownError('validation_failed', `invalid request: ${problems.join('; ')}`);
}
