/**
 * `rig add` / `rig update` flags → the request's `auth`, `mergeStrategy`, `provider` and `models`. Secrets
 * come only from a file (`--private-key-file`, `-` for stdin), an environment variable
 * (`--token-env`, `--webhook-secret-env`) or stdin (`--token-stdin`); they are validated here with
 * the protocol's schemas, and no message ever contains one.
 */
import { stat, readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import {
  MaxPolecatsSchema,
  ModelIdSchema,
  RoleInstructionsTextSchema,
  SetupCommandSchema,
  SetupTimeoutSecondsSchema,
  RigAuthInputSchema,
  RigProviderInputSchema,
  type MergeStrategy,
  type Rig,
  type RigAuthInput,
  type RigAuthKind,
  type RigProviderInput,
} from '@gastown/protocol';
import type { z } from 'zod';
import type { OptionSpecs, ParsedValues } from '../args';
import { stringOption } from '../args';
import { CliError } from '../errors';
import { authKindLabel } from './rig-labels';

export const RIG_SETTING_OPTIONS = {
  auth: { type: 'string' },
  'app-id': { type: 'string' },
  'installation-id': { type: 'string' },
  'private-key-file': { type: 'string' },
  'token-env': { type: 'string' },
  'token-stdin': { type: 'boolean' },
  'merge-strategy': { type: 'string' },
  provider: { type: 'string' },
  'api-base-url': { type: 'string' },
  'webhook-secret-env': { type: 'string' },
  'polecat-model': { type: 'string' },
  'refinery-model': { type: 'string' },
  'max-polecats': { type: 'string' },
  'setup-command': { type: 'string' },
  'setup-timeout': { type: 'string' },
  'polecat-instructions': { type: 'string' },
  'refinery-instructions': { type: 'string' },
} as const satisfies OptionSpecs;

export const RIG_SETTINGS_HELP = `  --auth <kind>               none | github-app | token (left out: what the options below
                              imply; a new rig without them is none)
  --app-id <N>                GitHub App id (numeric)
  --installation-id <N>       the app's installation on the repository's owner (numeric)
  --private-key-file <path>   the app's private key (.pem); - reads it from stdin
  --token-env <VAR>           a personal/project access token, from this environment variable
  --token-stdin               … or from stdin
  --merge-strategy <s>        direct (merge into the default branch) | pull-request (open a
                              pull request a human merges)
  --provider <kind>           github | gitlab (default: from the git URL's host)
  --api-base-url <url>        the host's API (GitHub Enterprise: https://host/api/v3,
                              GitLab: https://host/api/v4); github.com needs none
  --webhook-secret-env <VAR>  the webhook secret (pull-request rigs), from this variable
  --polecat-model <model>     the model of this rig's polecats (one the town allows); none:
                              the town's
  --refinery-model <model>    the model of this rig's refinery; none: the town's
  --max-polecats <n>          polecats of this rig running at once (1–100); none: only the
                              town's limit
  --setup-command <cmd>       run with /bin/sh -c in each polecat's worktree before its agent
                              starts (e.g. "npm ci"); its output goes to the bead's events, a
                              failure fails the attempt; none removes it. No secrets in it.
  --setup-timeout <seconds>   the setup command's time limit (5–1800, default 300)
  --polecat-instructions <text>, --refinery-instructions <text>
                              appended to that role's briefing for this rig, instead of the
                              town's; none: the town's`;

export const RIG_SECRETS_NOTE = `Secrets never go on the command line: a key, token or webhook secret given as a flag's value
is refused. They are write-only: nothing prints them back (rig list shows a fingerprint).`;

/** Where secrets are read from (the process's, or a test's). */
export interface SecretSources {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  readStdin(): Promise<string>;
}

export interface RigSettings {
  auth?: RigAuthInput;
  mergeStrategy?: MergeStrategy;
  provider?: RigProviderInput;
  /** A model sets the rig's own for the role; null returns the role to the town's model. */
  models?: { polecat?: string | null; refinery?: string | null };
  maxPolecats?: number | null;
  setupCommand?: string | null;
  setupTimeoutSeconds?: number;
  instructions?: { polecat?: string | null; refinery?: string | null };
}

/** A PEM file larger than this is not a private key (the protocol accepts 8 KiB). */
const MAX_KEY_FILE_BYTES = 64 * 1024;
/** Upper-case names only: a lower-case "name" is far more likely a token typed in the wrong place. */
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

const AUTH_KINDS: Readonly<Record<string, RigAuthKind>> = { none: 'none', 'github-app': 'github_app', github_app: 'github_app', token: 'token' };
const STRATEGIES: Readonly<Record<string, MergeStrategy>> = { direct: 'direct', 'pull-request': 'pull_request', pull_request: 'pull_request' };
const PROVIDERS = ['github', 'gitlab'] as const;

function usage(message: string): CliError {
  return new CliError('usage', message);
}

function firstIssue(error: z.ZodError, label: (path: string) => string): string {
  const issue = error.issues[0];
  if (!issue) return 'is invalid';
  return `${label(issue.path.join('.'))}: ${issue.message}`;
}

/**
 * The settings the flags ask for (only what was given: an update sends only what changes).
 * `current`: the rig being updated — a GitHub App's ids are kept when only its key is replaced.
 */
export async function rigSettingsFromFlags(values: ParsedValues, sources: SecretSources, current: Rig | null = null): Promise<RigSettings> {
  const settings: RigSettings = {};
  const auth = await authFromFlags(values, sources, current);
  if (auth) settings.auth = auth;
  const strategy = stringOption(values, 'merge-strategy');
  if (strategy !== undefined) {
    const parsed = STRATEGIES[strategy];
    if (!parsed) throw usage('--merge-strategy must be direct or pull-request');
    settings.mergeStrategy = parsed;
  }
  const provider = providerFromFlags(values, sources);
  if (provider) settings.provider = provider;
  const models = modelsFromFlags(values);
  if (models) settings.models = models;
  Object.assign(settings, agentSettingsFromFlags(values));
  return settings;
}

const CLEAR = new Set(['none', 'default']);

function checked<T>(schema: z.ZodType<T>, value: unknown, flag: string, hint: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw usage(`${flag} ${parsed.error.issues[0]?.message ?? 'is invalid'} (${hint})`);
  return parsed.data;
}

/** `--max-polecats`, `--setup-command`, `--setup-timeout`, `--<role>-instructions` (only what was given). */
function agentSettingsFromFlags(values: ParsedValues): Pick<RigSettings, 'maxPolecats' | 'setupCommand' | 'setupTimeoutSeconds' | 'instructions'> {
  const out: Pick<RigSettings, 'maxPolecats' | 'setupCommand' | 'setupTimeoutSeconds' | 'instructions'> = {};
  const max = stringOption(values, 'max-polecats');
  if (max !== undefined) {
    out.maxPolecats = CLEAR.has(max.trim())
      ? null
      : checked(MaxPolecatsSchema, /^\d+$/.test(max.trim()) ? Number(max.trim()) : NaN, '--max-polecats', 'a whole number 1–100, or none');
  }
  const setup = stringOption(values, 'setup-command');
  if (setup !== undefined) out.setupCommand = setup.trim() === 'none' ? null : checked(SetupCommandSchema, setup, '--setup-command', 'or none to remove it');
  const timeout = stringOption(values, 'setup-timeout');
  if (timeout !== undefined) {
    out.setupTimeoutSeconds = checked(
      SetupTimeoutSecondsSchema,
      /^\d+$/.test(timeout.trim()) ? Number(timeout.trim()) : NaN,
      '--setup-timeout',
      'seconds, 5–1800',
    );
  }
  const instructions: NonNullable<RigSettings['instructions']> = {};
  for (const role of ['polecat', 'refinery'] as const) {
    const raw = stringOption(values, `${role}-instructions`);
    if (raw === undefined) continue;
    instructions[role] = CLEAR.has(raw.trim()) ? null : checked(RoleInstructionsTextSchema, raw, `--${role}-instructions`, "or none for the town's");
  }
  if (Object.keys(instructions).length > 0) out.instructions = instructions;
  return out;
}

/** `--polecat-model`/`--refinery-model`: a model id, or none (or default) for the town's. */
function modelsFromFlags(values: ParsedValues): RigSettings['models'] | undefined {
  const models: NonNullable<RigSettings['models']> = {};
  for (const role of ['polecat', 'refinery'] as const) {
    const raw = stringOption(values, `${role}-model`);
    if (raw === undefined) continue;
    const value = raw.trim();
    if (value === 'none' || value === 'default') {
      models[role] = null;
      continue;
    }
    const parsed = ModelIdSchema.safeParse(value);
    if (!parsed.success) throw usage(`--${role}-model ${parsed.error.issues[0]?.message ?? 'is invalid'} (or none for the town's model)`);
    models[role] = parsed.data;
  }
  return Object.keys(models).length > 0 ? models : undefined;
}

async function authFromFlags(values: ParsedValues, sources: SecretSources, current: Rig | null): Promise<RigAuthInput | undefined> {
  const rawKind = stringOption(values, 'auth');
  let kind: RigAuthKind | undefined;
  if (rawKind !== undefined) {
    kind = AUTH_KINDS[rawKind];
    if (!kind) throw usage('--auth must be none, github-app or token');
  }
  const appFlags = (['app-id', 'installation-id', 'private-key-file'] as const).filter((f) => values[f] !== undefined);
  const tokenFlags = (['token-env', 'token-stdin'] as const).filter((f) => values[f] !== undefined && values[f] !== false);
  if (kind === undefined) {
    if (appFlags.length > 0 && tokenFlags.length > 0) throw usage('give either the GitHub App options or a token, not both');
    kind = appFlags.length > 0 ? 'github_app' : tokenFlags.length > 0 ? 'token' : undefined;
  }
  if (kind === undefined) return undefined;
  const misplaced = kind === 'github_app' ? tokenFlags : kind === 'token' ? appFlags : [...appFlags, ...tokenFlags];
  if (misplaced.length > 0) throw usage(`--${misplaced[0]} does not go with --auth ${authKindLabel(kind)}`);

  if (kind === 'none') return { kind: 'none' };
  if (kind === 'token') return tokenAuth(values, sources);
  return appAuth(values, sources, current);
}

async function tokenAuth(values: ParsedValues, sources: SecretSources): Promise<RigAuthInput> {
  const envName = stringOption(values, 'token-env');
  const fromStdin = values['token-stdin'] === true;
  if (envName !== undefined && fromStdin) throw usage('give the token with --token-env or --token-stdin, not both');
  if (envName === undefined && !fromStdin) {
    throw usage("--auth token needs --token-env <VAR> or --token-stdin (--token is your Gastown user token, not the rig's)");
  }
  const token = envName !== undefined ? secretFromEnv(sources, envName, '--token-env') : await secretFromStdin(sources, 'the token');
  const source = envName !== undefined ? `the token in $${envName}` : 'the token from stdin';
  const parsed = RigAuthInputSchema.safeParse({ kind: 'token', token });
  if (!parsed.success) throw usage(firstIssue(parsed.error, () => source));
  return parsed.data;
}

async function appAuth(values: ParsedValues, sources: SecretSources, current: Rig | null): Promise<RigAuthInput> {
  const kept = current?.auth.kind === 'github_app' ? current.auth : null;
  const appId = stringOption(values, 'app-id') ?? kept?.appId ?? undefined;
  const installationId = stringOption(values, 'installation-id') ?? kept?.installationId ?? undefined;
  const keyPath = stringOption(values, 'private-key-file');
  if (appId === undefined) throw usage("--auth github-app needs --app-id <N> (the number on the app's settings page)");
  if (installationId === undefined) throw usage("--auth github-app needs --installation-id <N> (from the installation's settings URL)");
  if (keyPath === undefined) {
    throw usage(
      kept
        ? 'changing the GitHub App needs its key again (the stored key is write-only): add --private-key-file <path>'
        : '--auth github-app needs --private-key-file <path> (the .pem GitHub gives for the app; - reads it from stdin)',
    );
  }
  const privateKey = await privateKeyFrom(keyPath, sources);
  const keySource = keyPath === '-' ? 'the key from stdin' : `the key in ${keyPath}`;
  const parsed = RigAuthInputSchema.safeParse({ kind: 'github_app', appId, installationId, privateKey });
  if (!parsed.success) {
    const labels: Record<string, string> = { appId: '--app-id', installationId: '--installation-id', privateKey: keySource };
    throw usage(firstIssue(parsed.error, (path) => labels[path] ?? path));
  }
  return parsed.data;
}

function providerFromFlags(values: ParsedValues, sources: SecretSources): RigProviderInput | undefined {
  const kind = stringOption(values, 'provider');
  const apiBaseUrl = stringOption(values, 'api-base-url');
  const secretEnv = stringOption(values, 'webhook-secret-env');
  if (kind === undefined && apiBaseUrl === undefined && secretEnv === undefined) return undefined;
  const input: Record<string, string> = {};
  if (kind !== undefined) {
    if (!(PROVIDERS as readonly string[]).includes(kind)) throw usage('--provider must be github or gitlab');
    input.kind = kind;
  }
  if (apiBaseUrl !== undefined) {
    if (!/^https?:\/\//i.test(apiBaseUrl)) throw usage('--api-base-url must be an http(s) URL, e.g. https://ghe.example.com/api/v3');
    input.apiBaseUrl = apiBaseUrl.replace(/\/+$/, '');
  }
  if (secretEnv !== undefined) input.webhookSecret = secretFromEnv(sources, secretEnv, '--webhook-secret-env');
  const labels: Record<string, string> = {
    kind: '--provider',
    apiBaseUrl: '--api-base-url',
    webhookSecret: `the webhook secret in $${secretEnv ?? ''}`,
  };
  const parsed = RigProviderInputSchema.safeParse(input);
  if (!parsed.success) throw usage(firstIssue(parsed.error, (path) => labels[path] ?? path));
  return parsed.data;
}

function secretFromEnv(sources: SecretSources, name: string, flag: string): string {
  // Never echo a value that is not a conventional variable name: it may be the secret itself.
  if (!ENV_NAME.test(name)) throw usage(`${flag} takes the NAME of an environment variable (capitals, digits and _, e.g. GITHUB_TOKEN), not the secret`);
  const value = sources.env[name]?.trim() ?? '';
  if (value === '') throw usage(`environment variable ${name} (${flag}) is not set or empty`);
  return value;
}

async function secretFromStdin(sources: SecretSources, what: string): Promise<string> {
  const value = (await sources.readStdin()).trim();
  if (value === '') throw usage(`${what} from stdin is empty: pipe it in (\`… --token-stdin < token.txt\`)`);
  return value;
}

async function privateKeyFrom(path: string, sources: SecretSources): Promise<string> {
  if (path === '-') {
    const pem = await sources.readStdin();
    if (pem.trim() === '') throw usage('the key from stdin is empty: pipe the .pem in (`… --private-key-file - < app.pem`)');
    return pem.trim();
  }
  // A PEM pasted where the path belongs: refuse without repeating it.
  if (/-----BEGIN|[\r\n]/.test(path)) throw usage('--private-key-file takes the path of the .pem file, not the key itself');
  const full = isAbsolute(path) ? path : resolve(sources.cwd, path);
  let pem: string;
  try {
    const info = await stat(full);
    if (!info.isFile()) throw usage(`--private-key-file ${path} is not a file`);
    if (info.size > MAX_KEY_FILE_BYTES) throw usage(`--private-key-file ${path} is too large to be a private key`);
    pem = await readFile(full, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as { code?: unknown }).code;
    throw usage(`cannot read --private-key-file ${path}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  return pem.trim();
}
