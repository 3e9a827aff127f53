/**
 * The CLI config file: `{url, token, town, adminSecret}` as JSON. Found at `--config`/`GASTOWN_CONFIG`,
 * else `.gastown/cli.json` in the current directory or the nearest parent (`gastown dev` writes it
 * at the repo root), else the user's `~/.config/gastown/cli.json`. Written with mode 0600.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, parse, resolve } from 'node:path';
import { z } from 'zod';
import { CliError } from '../errors';

export const PROJECT_CONFIG_DIR = '.gastown';
export const CONFIG_FILE_NAME = 'cli.json';

/** Unknown keys are kept (another tool may write them), so `config set` never drops them. */
export const CliConfigFileSchema = z.looseObject({
  url: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  town: z.string().min(1).optional(),
  adminSecret: z.string().min(1).optional(),
});
export type CliConfigFile = z.infer<typeof CliConfigFileSchema>;

export type ConfigFileKind = 'explicit' | 'project' | 'user';

export interface ConfigFileLocation {
  path: string;
  kind: ConfigFileKind;
  exists: boolean;
}

export interface LocateOptions {
  cwd: string;
  home: string;
  /** `--config` or `GASTOWN_CONFIG`. */
  explicitPath?: string | null;
  xdgConfigHome?: string | null;
}

/** The user-level config path: `$XDG_CONFIG_HOME/gastown/cli.json`, else `~/.config/gastown/cli.json`. */
export function userConfigPath(home: string, xdgConfigHome?: string | null): string {
  return join(xdgConfigHome || join(home, '.config'), 'gastown', CONFIG_FILE_NAME);
}

/** `.gastown/cli.json` in `start` or the nearest parent directory that has one. */
export function findProjectConfig(start: string): string | null {
  let dir = resolve(start);
  const { root } = parse(dir);
  for (;;) {
    const candidate = join(dir, PROJECT_CONFIG_DIR, CONFIG_FILE_NAME);
    if (existsSync(candidate)) return candidate;
    if (dir === root) return null;
    dir = dirname(dir);
  }
}

/** Which config file applies (it may not exist yet: then it is where `config set` writes). */
export function locateConfigFile(opts: LocateOptions): ConfigFileLocation {
  if (opts.explicitPath) {
    const path = resolve(opts.cwd, opts.explicitPath);
    return { path, kind: 'explicit', exists: existsSync(path) };
  }
  const project = findProjectConfig(opts.cwd);
  if (project) return { path: project, kind: 'project', exists: true };
  const path = userConfigPath(opts.home, opts.xdgConfigHome);
  return { path, kind: 'user', exists: existsSync(path) };
}

/** Read and validate a config file; a missing file is an empty config. Never echoes file content. */
export function readConfigFile(path: string): CliConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError('config_invalid', `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError('config_invalid', `config file ${path} is not valid JSON`);
  }
  const parsed = CliConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CliError('config_invalid', `config file ${path} is invalid: ${fields}`);
  }
  return parsed.data;
}

/** Write atomically (temp file + rename), readable by the owner only: the file may hold a token. */
export function writeConfigFile(path: string, config: CliConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
