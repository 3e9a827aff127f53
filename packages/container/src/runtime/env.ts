/**
 * The runtime's environment, built from an allow-list. The container's own environment holds
 * provider keys and the container key; none of it is inherited wholesale. The only secrets
 * the agent process gets are its broker key (loopback, this agent only) and its server password.
 */
import type { AgentIdentity } from '@gastown/protocol';
import type { RuntimeFlavor } from './flavor';
import type { RuntimePaths } from './state-dir';

/** Variables copied from the container's environment when set. None may hold a secret. */
export const INHERITED_ENV_VARS = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS'] as const;

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface RuntimeEnvInput {
  flavor: RuntimeFlavor;
  agent: AgentIdentity;
  paths: RuntimePaths;
  brokerUrl: string;
  brokerKey: string;
  serverPassword: string;
  config: Record<string, unknown>;
  /** The container's environment; only INHERITED_ENV_VARS are read from it. */
  baseEnv: Readonly<Record<string, string | undefined>>;
}

/**
 * The agent's environment without what only its runtime needs: the broker key and URL, the server
 * password and the runtime config (which names the broker key). For commands of the user's (a rig's
 * setup command) run as the agent before it starts: a repository's install scripts run there too.
 */
export function withoutAgentSecrets(env: Readonly<Record<string, string>>, flavor: Pick<RuntimeFlavor, 'envPrefix'>): Record<string, string> {
  const drop = new Set(['GASTOWN_BROKER_URL', 'GASTOWN_AGENT_KEY', `${flavor.envPrefix}_SERVER_PASSWORD`, `${flavor.envPrefix}_CONFIG_CONTENT`]);
  return Object.fromEntries(Object.entries(env).filter(([name]) => !drop.has(name)));
}

export function buildRuntimeEnv(input: RuntimeEnvInput): Record<string, string> {
  const { flavor, agent, paths } = input;
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV_VARS) {
    const value = input.baseEnv[name];
    if (value) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  env.LANG ??= 'C.UTF-8';

  Object.assign(env, {
    HOME: paths.home,
    XDG_CONFIG_HOME: paths.xdgConfigHome,
    XDG_DATA_HOME: paths.xdgDataHome,
    XDG_CACHE_HOME: paths.xdgCacheHome,
    XDG_STATE_HOME: paths.xdgStateHome,
    TMPDIR: paths.tmpDir,
    // git, for the agent's commits; never prompt for credentials.
    GIT_AUTHOR_NAME: agent.name,
    GIT_AUTHOR_EMAIL: `${agent.id}@agents.gastown.invalid`,
    GIT_COMMITTER_NAME: agent.name,
    GIT_COMMITTER_EMAIL: `${agent.id}@agents.gastown.invalid`,
    GIT_TERMINAL_PROMPT: '0',
    // the plugin's loopback coordinates (not control-plane credentials)
    GASTOWN_BROKER_URL: input.brokerUrl,
    GASTOWN_AGENT_KEY: input.brokerKey,
    GASTOWN_AGENT_ROLE: agent.role,
    GASTOWN_AGENT_ID: agent.id,
  });

  const p = flavor.envPrefix;
  Object.assign(env, {
    [`${p}_CONFIG_CONTENT`]: JSON.stringify(input.config),
    [`${p}_SERVER_USERNAME`]: flavor.username,
    [`${p}_SERVER_PASSWORD`]: input.serverPassword,
    [`${p}_DISABLE_MODELS_FETCH`]: '1',
    [`${p}_DISABLE_AUTOUPDATE`]: '1',
    // A repository's own opencode.json / .opencode/ must not add plugins (an offline npm
    // install), providers or permissions; its AGENTS.md is passed as an instruction file instead.
    [`${p}_DISABLE_PROJECT_CONFIG`]: '1',
    [`${p}_DISABLE_CLAUDE_CODE`]: '1',
    [`${p}_DISABLE_LSP_DOWNLOAD`]: '1',
    [`${p}_DISABLE_SHARE`]: '1',
  });
  // kilo's own cloud services: no telemetry, no session upload (both read so by the 7.7.7 binary)
  if (flavor.kind === 'kilo') Object.assign(env, { KILO_TELEMETRY_LEVEL: 'off', KILO_DISABLE_SESSION_INGEST: '1' });
  return env;
}
