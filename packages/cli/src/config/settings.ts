/**
 * Where each setting comes from. Pure: the caller reads the flags, the environment and the config
 * file; this module applies the precedence flags > env > file (> dev files > default) per setting.
 */
import { CliError } from '../errors';
import type { CliConfigFile } from './config-file';

export const DEFAULT_URL = 'http://127.0.0.1:8787';

export const ENV = {
  url: 'GASTOWN_URL',
  token: 'GASTOWN_TOKEN',
  town: 'GASTOWN_TOWN',
  adminSecret: 'GASTOWN_ADMIN_SECRET',
  config: 'GASTOWN_CONFIG',
} as const;

export type SettingSource = 'flag' | 'env' | 'file' | 'dev' | 'default' | 'none';

export interface Setting<T> {
  value: T;
  source: SettingSource;
  /** A human description of the source: `--url`, `GASTOWN_URL`, the file path. */
  origin: string;
}

export interface SettingInputs {
  flags: { url?: string; token?: string; town?: string; adminSecret?: string };
  env: Readonly<Record<string, string | undefined>>;
  file: { path: string; config: CliConfigFile } | null;
  /** The local stack's admin secret (`.gastown/dev.json` or `.dev.vars`), when found. */
  devAdminSecret?: { value: string; path: string } | null;
}

export interface Settings {
  url: Setting<string>;
  token: Setting<string | null>;
  town: Setting<string | null>;
  adminSecret: Setting<string | null>;
}

type Key = 'url' | 'token' | 'town' | 'adminSecret';
const FLAG_NAMES: Record<Key, string> = { url: '--url', token: '--token', town: '--town', adminSecret: '--admin-secret' };

/** An empty string (`GASTOWN_TOKEN=`) counts as unset. */
function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

function pick(key: Key, inputs: SettingInputs): Setting<string | null> {
  const flag = inputs.flags[key];
  if (present(flag)) return { value: flag.trim(), source: 'flag', origin: FLAG_NAMES[key] };
  const envValue = inputs.env[ENV[key]];
  if (present(envValue)) return { value: envValue.trim(), source: 'env', origin: ENV[key] };
  const fileValue = inputs.file?.config[key];
  if (inputs.file && present(fileValue)) return { value: fileValue.trim(), source: 'file', origin: inputs.file.path };
  return { value: null, source: 'none', origin: 'not set' };
}

/** `http(s)://host[:port][/base]` without a trailing slash; anything else is a usage error. */
export function normaliseUrl(raw: string, origin: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('usage', `the server URL from ${origin} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('usage', `the server URL from ${origin} must start with http:// or https://`);
  if (url.username || url.password) throw new CliError('usage', `the server URL from ${origin} must not hold credentials`);
  if (url.search || url.hash) throw new CliError('usage', `the server URL from ${origin} must not have a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export function resolveSettings(inputs: SettingInputs): Settings {
  const url = pick('url', inputs);
  const adminSecret = pick('adminSecret', inputs);
  const dev = inputs.devAdminSecret;
  return {
    url: url.value === null ? { value: DEFAULT_URL, source: 'default', origin: 'default' } : { ...url, value: normaliseUrl(url.value, url.origin) },
    token: pick('token', inputs),
    town: pick('town', inputs),
    adminSecret: adminSecret.value === null && dev ? { value: dev.value, source: 'dev', origin: dev.path } : adminSecret,
  };
}
