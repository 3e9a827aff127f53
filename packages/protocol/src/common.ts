import { z } from 'zod';

/** Limits shared by every endpoint. */
export const LIMITS = {
  maxBodyBytes: 256 * 1024,
  maxTitleChars: 200,
  maxTextChars: 20_000,
  maxEventsPerBatch: 500,
  maxEnvVars: 64,
  maxEnvValueChars: 4096,
} as const;

const ID_PATTERN = /^[a-z]{2,6}_[a-z0-9]{6,40}$/;
/** Server-generated ids such as `town_8f3k…`, `ag_…`, `bd_…`. Strict, so they are safe in paths and branch names. */
export const IdSchema = z.string().regex(ID_PATTERN, 'must be an id such as ag_1a2b3c4d');
export const TownIdSchema = IdSchema;
export const AgentIdSchema = IdSchema;
export const RigIdSchema = IdSchema;
export const BeadIdSchema = IdSchema;

/** A user-chosen name: lower-case letters, digits and dashes; safe as a directory name. */
export const NameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes, starting with a letter or digit');

/** A user id (opaque, from the identity provider). */
export const UserIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._@:-]+$/, 'must be letters, digits and . _ @ : -');

export const TitleSchema = z.string().trim().min(1).max(LIMITS.maxTitleChars);
export const TextSchema = z.string().max(LIMITS.maxTextChars);

/**
 * A git branch name that is safe to hand to git: follows `git check-ref-format` rules
 * and can never be read as an option (no leading dash) or escape a path.
 */
export const BranchNameSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'must start with a letter or digit and hold only letters, digits, . _ / -')
  .refine(
    (s) => !s.includes('..') && !s.includes('//') && !s.endsWith('/') && !s.endsWith('.') && !s.endsWith('.lock') && !s.includes('/.') && !s.includes('@{'),
    'is not a valid git branch name',
  );

/**
 * A git remote: `https://…`, `ssh://…`, `git@host:path`, `file:///abs/path` or an absolute path.
 * Never starts with a dash (git option injection) and holds no whitespace or control characters.
 */
export const GitUrlSchema = z
  .string()
  .min(1)
  .max(1000)
  .refine((s) => !/[\s\u0000-\u001f\u007f]/.test(s), 'must not contain whitespace or control characters')
  .refine((s) => !s.startsWith('-'), 'must not start with a dash')
  .refine(
    (s) => /^(https?:\/\/|ssh:\/\/|git@[A-Za-z0-9.-]+:|file:\/\/\/)/.test(s) || /^\/[^\0]*$/.test(s),
    'must be an https://, ssh://, git@host:, file:/// URL or an absolute path',
  )
  .refine((s) => !/(^|\/)\.\.(\/|$)/.test(s.replace(/^file:\/\//, '')), 'must not contain .. path segments');

/** An environment variable name as POSIX shells accept it. */
export const EnvVarNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name');

export const IsoTimeSchema = z.string().datetime({ offset: true });
/** Milliseconds since the epoch. */
export const EpochMsSchema = z.number().int().nonnegative();
