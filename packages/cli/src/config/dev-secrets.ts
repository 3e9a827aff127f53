/**
 * The local stack's admin secret, for `gastown token create` without flags: `.gastown/dev.json`
 * (`adminSecret`) next to the project config, else `GASTOWN_ADMIN_SECRET` in
 * `packages/worker/.dev.vars` at the project root. Never printed.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CONFIG_FILE_NAME, PROJECT_CONFIG_DIR } from './config-file';

const DevJsonSchema = z.looseObject({ adminSecret: z.string().min(1) });

/** dotenv / `.dev.vars` lines: NAME=value, optional quotes, # comments. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** `projectConfigPath` is `<root>/.gastown/cli.json`. Returns null when no dev secret is found. */
export function readDevAdminSecret(projectConfigPath: string): { value: string; path: string } | null {
  const configDir = dirname(projectConfigPath);
  if (!projectConfigPath.endsWith(join(PROJECT_CONFIG_DIR, CONFIG_FILE_NAME))) return null;
  const devJsonPath = join(configDir, 'dev.json');
  const devJson = readText(devJsonPath);
  if (devJson !== null) {
    try {
      const parsed = DevJsonSchema.safeParse(JSON.parse(devJson));
      if (parsed.success) return { value: parsed.data.adminSecret, path: devJsonPath };
    } catch {
      // not JSON: fall through to .dev.vars
    }
  }
  const devVarsPath = join(dirname(configDir), 'packages', 'worker', '.dev.vars');
  const devVars = readText(devVarsPath);
  const secret = devVars === null ? undefined : parseDotenv(devVars).GASTOWN_ADMIN_SECRET;
  return secret ? { value: secret, path: devVarsPath } : null;
}
