/**
 * Files of the local stack at the repository root, all gitignored:
 *
 * - `.gastown/dev.json`  — keys (JWT keyring, admin secret, container key) and the dev user's
 *   token; created on the first `gastown dev`, reused afterwards. Mode 0600.
 * - `.gastown/cli.json`  — `{url, token}` for the `gastown` CLI (other keys are kept).
 * - `.gastown/dev.lock`  — `{pid, port, startedAt}` of the running `gastown dev` (one per state dir).
 * - `.gastown/state/`    — Durable Object storage (`wrangler/`), container data (`host/`), logs.
 * - `packages/worker/.dev.vars` — the worker's secrets, written by the stack launcher.
 *
 * Deleting `.gastown/` (and `.dev.vars`) resets everything.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { generateStackKeys, StackKeysSchema, type StackKeys } from '@gastown/testkit/stack/index';
import { CliError } from '../errors';

export interface DevPaths {
  root: string;
  dir: string;
  devJson: string;
  cliJson: string;
  lockFile: string;
  stateDir: string;
}

export function devPaths(repoRoot: string): DevPaths {
  const dir = join(repoRoot, '.gastown');
  return { root: repoRoot, dir, devJson: join(dir, 'dev.json'), cliJson: join(dir, 'cli.json'), lockFile: join(dir, 'dev.lock'), stateDir: join(dir, 'state') };
}

const DevFileSchema = z.looseObject({
  jwtKeys: z.record(z.string(), z.string()),
  activeKid: z.string(),
  adminSecret: z.string(),
  containerKey: z.string(),
  userId: z.string().optional(),
  userToken: z.string().optional(),
  userTokenExpiresAt: z.number().optional(),
  createdAt: z.string().optional(),
});
export type DevFile = z.infer<typeof DevFileSchema>;

/** Write JSON atomically, owner-only (the directory is traversable, not listable: sandboxed agents reach the state dir below it). */
export function writeJsonFile(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The dev keys: read `.gastown/dev.json`, or generate and write them (first run). */
export function loadOrCreateDevFile(paths: DevPaths, now: Date = new Date()): { file: DevFile; keys: StackKeys; created: boolean } {
  if (existsSync(paths.devJson)) {
    const parsed = DevFileSchema.safeParse(readJson(paths.devJson));
    const keys = parsed.success ? StackKeysSchema.safeParse(parsed.data) : null;
    if (parsed.success && keys?.success) return { file: parsed.data, keys: keys.data, created: false };
    throw new CliError('config_invalid', `${paths.devJson} is not a valid dev key file; delete .gastown/ to start afresh`);
  }
  const keys = generateStackKeys(undefined, now);
  const file: DevFile = { ...keys, createdAt: now.toISOString() };
  writeJsonFile(paths.devJson, file);
  return { file, keys, created: true };
}

export function saveDevFile(paths: DevPaths, file: DevFile): void {
  writeJsonFile(paths.devJson, file);
}

/** Point the CLI at this stack: set `url` and `token` in `.gastown/cli.json`, keep other keys. */
export function writeCliConfig(paths: DevPaths, url: string, token: string): void {
  const existing = readJson(paths.cliJson);
  const base = existing && typeof existing === 'object' && !Array.isArray(existing) ? (existing as Record<string, unknown>) : {};
  writeJsonFile(paths.cliJson, { ...base, url, token });
}
