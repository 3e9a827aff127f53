import { EnvVarNameSchema, GastownError, LIMITS } from '@gastown/protocol';

/**
 * Checks of what TownContainerDO stores for a town's next boot: its env vars and its sleepAfter.
 * The TownDO validates user input first; these are the DO's own guard. A refusal is GastownError
 * `validation_failed` (400), which crosses the RPC boundary inside an RpcResult.
 */
export const DEFAULT_SLEEP_AFTER_SECONDS = 1800;
export const MAX_SLEEP_AFTER_SECONDS = 7 * 24 * 3600;

/** A whole set of town env vars, every name and value checked; a copy. */
export function validTownEnvVars(vars: Record<string, string>): Record<string, string> {
  const entries = Object.entries(vars);
  if (entries.length > LIMITS.maxEnvVars) throw new GastownError('validation_failed', `at most ${LIMITS.maxEnvVars} env vars`);
  const out: Record<string, string> = {};
  for (const [name, value] of entries) out[validEnvVarName(name)] = validEnvVarValue(value);
  return out;
}

export function validEnvVarName(name: string): string {
  if (!EnvVarNameSchema.safeParse(name).success) throw new GastownError('validation_failed', 'invalid env var name');
  return name;
}

export function validEnvVarValue(value: string): string {
  if (typeof value !== 'string' || value.length > LIMITS.maxEnvValueChars) throw new GastownError('validation_failed', 'invalid env var value');
  return value;
}

export function validSleepAfterSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SLEEP_AFTER_SECONDS)
    throw new GastownError('validation_failed', 'sleepAfterSeconds out of range');
  return seconds;
}
