import { z } from 'zod';
import { ERROR_CODES, type ErrorBody, type ErrorCode } from './gastown-error';

export * from './gastown-error';

export const ErrorCodeSchema = z.enum(ERROR_CODES);

export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
  }),
});

/** Parse an error body from an untrusted response; returns null when it is not one of ours. */
export function parseErrorBody(value: unknown): ErrorBody | null {
  const parsed = ErrorBodySchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
