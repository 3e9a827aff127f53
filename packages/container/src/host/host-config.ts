import { isAbsolute, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { z } from 'zod';
import { GastownError } from '@gastown/protocol';

/**
 * Container host configuration, parsed once at startup.
 *
 * | variable                              | default                        |
 * |---------------------------------------|--------------------------------|
 * | GASTOWN_HOST_PORT                     | 8788 (0 = any free port)       |
 * | GASTOWN_CONTAINER_KEY                 | required (shared with the worker) |
 * | GASTOWN_HOST_DATA_DIR                 | $TMPDIR/gastown-host           |
 * | GASTOWN_DEFAULT_SLEEP_AFTER_SECONDS   | 1800                           |
 * | GASTOWN_STOP_GRACE_SECONDS            | 25                             |
 *
 * Container settings passed through to every container it starts, when set:
 * GASTOWN_HEARTBEAT_INTERVAL_SECONDS, GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS,
 * GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS, GASTOWN_STOP_TIMEOUT_SECONDS, GASTOWN_LOG_LEVEL,
 * GASTOWN_PLUGIN_PATH.
 */
export interface HostConfig {
  port: number;
  containerKey: string;
  dataDir: string;
  defaultSleepAfterMs: number;
  stopGraceMs: number;
  passthrough: Record<string, string>;
}

export const CONTAINER_PASSTHROUGH_VARS = [
  'GASTOWN_HEARTBEAT_INTERVAL_SECONDS',
  'GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS',
  'GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS',
  'GASTOWN_STOP_TIMEOUT_SECONDS',
  'GASTOWN_LOG_LEVEL',
  'GASTOWN_PLUGIN_PATH',
  // agent isolation level (auto by default; a lower one for the hostile-agent suite's mutation runs)
  'GASTOWN_SANDBOX',
  // test only: skews every container's clock (docs/RELIABILITY.md, clock skew)
  'GASTOWN_CLOCK_OFFSET_MS',
  // test only: `off` switches the git token brokers' refresh off (the private-rig e2e proves it can fail)
  'GASTOWN_GIT_TOKEN_REFRESH',
] as const;

const int = (min: number, max: number) => z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));

const HostEnvSchema = z.object({
  GASTOWN_HOST_PORT: int(0, 65535).default(8788),
  GASTOWN_CONTAINER_KEY: z.string().min(16).max(512),
  GASTOWN_HOST_DATA_DIR: z.string().refine(isAbsolute, 'must be an absolute path').optional(),
  GASTOWN_DEFAULT_SLEEP_AFTER_SECONDS: int(1, 7 * 24 * 3600).default(1800),
  GASTOWN_STOP_GRACE_SECONDS: int(1, 600).default(25),
});

export function loadHostConfig(env: Readonly<Record<string, string | undefined>>): HostConfig {
  const parsed = HostEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new GastownError('config_invalid', `invalid container host config: ${problems}`);
  }
  const e = parsed.data;
  const passthrough: Record<string, string> = {};
  for (const name of CONTAINER_PASSTHROUGH_VARS) {
    const value = env[name];
    if (value !== undefined) passthrough[name] = value;
  }
  return {
    port: e.GASTOWN_HOST_PORT,
    containerKey: e.GASTOWN_CONTAINER_KEY,
    dataDir: resolve(e.GASTOWN_HOST_DATA_DIR ?? join(tmpdir(), 'gastown-host')),
    defaultSleepAfterMs: e.GASTOWN_DEFAULT_SLEEP_AFTER_SECONDS * 1000,
    stopGraceMs: e.GASTOWN_STOP_GRACE_SECONDS * 1000,
    passthrough,
  };
}
