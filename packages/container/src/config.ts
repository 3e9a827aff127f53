import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvVarNameSchema, GastownError, LIMITS, TOWN_ENV_PREFIX } from '@gastown/protocol';
import { z } from 'zod';
import { SANDBOX_MODES, type SandboxMode } from './sandbox/isolation';

/**
 * Container configuration, parsed once at startup from the process environment.
 *
 * | variable                              | default                                   |
 * |---------------------------------------|-------------------------------------------|
 * | CONTAINER_PORT                        | 8080 (0 = any free port)                  |
 * | GASTOWN_CONTAINER_KEY                 | required, ≥ 16 chars                      |
 * | GASTOWN_DATA_DIR                      | $TMPDIR/gastown-container-<instanceId>    |
 * | GASTOWN_INSTANCE_ID                   | `ci_` + 16 random hex                     |
 * | GASTOWN_BIND_LOOPBACK                 | unset → 0.0.0.0; `1` → 127.0.0.1          |
 * | GASTOWN_HEARTBEAT_INTERVAL_SECONDS    | 30                                        |
 * | GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS  | 120                                       |
 * | GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS | 600                                       |
 * | GASTOWN_STOP_TIMEOUT_SECONDS          | 20 (graceful shutdown budget)             |
 * | GASTOWN_PLUGIN_PATH                   | <repo>/packages/plugin/dist/gastown-plugin.js |
 * | GASTOWN_LOG_LEVEL                     | info                                      |
 * | GASTOWN_CLOCK_OFFSET_MS               | 0 — TEST ONLY: shifts the container's clock (e.g. -60000) to test clock skew; never set in production |
 * | GASTOWN_GIT_TOKEN_REFRESH             | on — TEST ONLY: `off` stops the git token brokers from fetching fresh tokens (proves the private-rig tests can fail); never set in production |
 * | GASTOWN_SANDBOX                       | auto: agent isolation, see src/sandbox/isolation.ts; `uid+namespaces`, `uid`, `namespaces` or `none` force a level (startup fails when it is not available) |
 * | GASTOWN_SANDBOX_UID_BASE              | 20000: first uid of the agents' pool (each agent's gid is its uid) |
 * | GASTOWN_SANDBOX_UID_COUNT             | 1000: uids in the pool (concurrent agent runs) |
 * | TOWN_ENV_<NAME>                       | town env var <NAME> (see below)           |
 *
 * Town env vars (LLM provider keys and the like) arrive as `TOWN_ENV_<NAME>=value`; the
 * prefix is stripped, so `TOWN_ENV_OPENAI_API_KEY` becomes town env var `OPENAI_API_KEY`,
 * the name a ProviderConfig's `apiKeyEnvVar` refers to. The prefix keeps a town var from
 * ever shadowing a variable of the container itself (PATH, NODE_OPTIONS…). These values
 * live only in `townEnv`: they go to the broker API's LLM proxy, never to an agent process,
 * and `scrubProcessEnv` removes them (and the container key) from `process.env`.
 * (TOWN_ENV_PREFIX lives in @gastown/protocol: the control plane sets these variables.)
 */
export interface ContainerConfig {
  port: number;
  /** 0.0.0.0 in production; 127.0.0.1 with GASTOWN_BIND_LOOPBACK=1. */
  hostname: string;
  containerKey: string;
  instanceId: string;
  dataDir: string;
  heartbeatIntervalMs: number;
  idleTimeoutMs: { polecat: number; refinery: number };
  stopTimeoutMs: number;
  pluginPath: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Town env vars by their own name (prefix stripped). Secret values: never log them. */
  townEnv: Readonly<Record<string, string>>;
  /** TEST ONLY (GASTOWN_CLOCK_OFFSET_MS): added to the container's clock to simulate skew. 0 in production. */
  clockOffsetMs?: number;
  /** TEST ONLY (GASTOWN_GIT_TOKEN_REFRESH=off → false): the git token brokers never fetch fresh tokens. Absent (on) in production. */
  gitTokenRefresh?: boolean;
}

/** Agent isolation (GASTOWN_SANDBOX*), parsed by loadSandboxConfig. */
export interface SandboxConfig {
  mode: SandboxMode;
  uidBase: number;
  uidCount: number;
}

const intFromEnv = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

const EnvSchema = z.object({
  CONTAINER_PORT: intFromEnv(0, 65535).default(8080),
  GASTOWN_CONTAINER_KEY: z.string().min(16, 'must be at least 16 characters').max(512),
  GASTOWN_DATA_DIR: z.string().min(1).refine(isAbsolute, 'must be an absolute path').optional(),
  GASTOWN_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be letters, digits, _ or -')
    .optional(),
  GASTOWN_BIND_LOOPBACK: z.enum(['0', '1', 'true', 'false']).optional(),
  GASTOWN_HEARTBEAT_INTERVAL_SECONDS: intFromEnv(1, 3600).default(30),
  GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS: intFromEnv(1, 7 * 24 * 3600).default(120),
  GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS: intFromEnv(1, 7 * 24 * 3600).default(600),
  GASTOWN_STOP_TIMEOUT_SECONDS: intFromEnv(1, 600).default(20),
  GASTOWN_PLUGIN_PATH: z.string().min(1).refine(isAbsolute, 'must be an absolute path').optional(),
  GASTOWN_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  GASTOWN_CLOCK_OFFSET_MS: z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(-86_400_000).max(86_400_000))
    .optional(),
  GASTOWN_GIT_TOKEN_REFRESH: z.enum(['on', 'off']).optional(),
});

/** Where the bundled plugin lives in this repository (src/config.ts → packages/plugin/dist). */
export const DEFAULT_PLUGIN_PATH = fileURLToPath(new URL('../../plugin/dist/gastown-plugin.js', import.meta.url));

export interface LoadConfigOptions {
  /** Random instance id when GASTOWN_INSTANCE_ID is unset. */
  randomInstanceId?: () => string;
  tmpDir?: string;
}

/**
 * Parse and validate the environment. Throws GastownError('config_invalid') naming the
 * offending variables, never their values.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, options: LoadConfigOptions = {}): ContainerConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new GastownError('config_invalid', `invalid container config: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const instanceId = e.GASTOWN_INSTANCE_ID ?? (options.randomInstanceId ?? defaultInstanceId)();
  return {
    port: e.CONTAINER_PORT,
    hostname: e.GASTOWN_BIND_LOOPBACK === '1' || e.GASTOWN_BIND_LOOPBACK === 'true' ? '127.0.0.1' : '0.0.0.0',
    containerKey: e.GASTOWN_CONTAINER_KEY,
    instanceId,
    dataDir: resolve(e.GASTOWN_DATA_DIR ?? join(options.tmpDir ?? tmpdir(), `gastown-container-${instanceId}`)),
    heartbeatIntervalMs: e.GASTOWN_HEARTBEAT_INTERVAL_SECONDS * 1000,
    idleTimeoutMs: {
      polecat: e.GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS * 1000,
      refinery: e.GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS * 1000,
    },
    stopTimeoutMs: e.GASTOWN_STOP_TIMEOUT_SECONDS * 1000,
    pluginPath: e.GASTOWN_PLUGIN_PATH ?? DEFAULT_PLUGIN_PATH,
    logLevel: e.GASTOWN_LOG_LEVEL,
    townEnv: Object.freeze(townEnvFrom(env)),
    clockOffsetMs: e.GASTOWN_CLOCK_OFFSET_MS ?? 0,
    ...(e.GASTOWN_GIT_TOKEN_REFRESH === 'off' ? { gitTokenRefresh: false } : {}),
  };
}

const SandboxEnvSchema = z.object({
  GASTOWN_SANDBOX: z.enum(SANDBOX_MODES).default('auto'),
  GASTOWN_SANDBOX_UID_BASE: intFromEnv(1000, 2_000_000_000).default(20_000),
  GASTOWN_SANDBOX_UID_COUNT: intFromEnv(1, 65_536).default(1_000),
});

/**
 * The sandbox variables (table above). Kept apart from ContainerConfig until main.ts wires the
 * sandbox; throws GastownError('config_invalid') naming the variable, never its value.
 */
export function loadSandboxConfig(env: Readonly<Record<string, string | undefined>>): SandboxConfig {
  const parsed = SandboxEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new GastownError('config_invalid', `invalid container config: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return { mode: e.GASTOWN_SANDBOX, uidBase: e.GASTOWN_SANDBOX_UID_BASE, uidCount: e.GASTOWN_SANDBOX_UID_COUNT };
}

/** `TOWN_ENV_<NAME>` → `{ NAME: value }`, validated. */
export function townEnvFrom(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  const bad: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(TOWN_ENV_PREFIX) || value === undefined) continue;
    const name = key.slice(TOWN_ENV_PREFIX.length);
    if (!EnvVarNameSchema.safeParse(name).success || value.length > LIMITS.maxEnvValueChars) bad.push(key);
    else out[name] = value;
  }
  if (bad.length > 0) throw new GastownError('config_invalid', `invalid container config: bad town env var ${bad.join(', ')}`);
  if (Object.keys(out).length > LIMITS.maxEnvVars) {
    throw new GastownError('config_invalid', `invalid container config: more than ${LIMITS.maxEnvVars} town env vars`);
  }
  return out;
}

/** Remove secrets from the process environment once parsed, so no child process can inherit them. */
export function scrubProcessEnv(env: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(env)) {
    if (key.startsWith(TOWN_ENV_PREFIX) || key === 'GASTOWN_CONTAINER_KEY') delete env[key];
  }
}

function defaultInstanceId(): string {
  return `ci_${randomBytes(8).toString('hex')}`;
}
