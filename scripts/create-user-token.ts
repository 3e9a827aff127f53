/**
 * Mint a user token from a running worker's admin endpoint and print it (only the token, on
 * stdout, so `TOKEN=$(npx tsx scripts/create-user-token.ts --user alice)` works).
 *
 *   npx tsx scripts/create-user-token.ts [--url URL] [--secret SECRET] [--user ID] [--ttl SECONDS] [--dev-vars PATH]
 *
 * Defaults: --url $GASTOWN_URL or http://127.0.0.1:8787; --secret $GASTOWN_ADMIN_SECRET, else
 * GASTOWN_ADMIN_SECRET from packages/worker/.dev.vars; --user $USER or "dev"; --ttl: the
 * server's default (30 days).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const DEFAULT_URL = 'http://127.0.0.1:8787';
const DEFAULT_DEV_VARS = resolve(dirname(fileURLToPath(import.meta.url)), '../packages/worker/.dev.vars');

/** `.dev.vars` / dotenv lines: NAME=value, optional quotes, # comments. */
export function parseDevVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const name = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    out[name] = value;
  }
  return out;
}

function readDevVars(path: string): Record<string, string> {
  try {
    return parseDevVars(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
}

function fail(message: string): never {
  process.stderr.write(`create-user-token: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      user: { type: 'string' },
      ttl: { type: 'string' },
      'dev-vars': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: create-user-token [--url URL] [--secret SECRET] [--user ID] [--ttl SECONDS] [--dev-vars PATH]\n');
    return;
  }
  const devVars = readDevVars(values['dev-vars'] ?? DEFAULT_DEV_VARS);
  const url = (values.url ?? process.env.GASTOWN_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  const secret = values.secret ?? process.env.GASTOWN_ADMIN_SECRET ?? devVars.GASTOWN_ADMIN_SECRET;
  if (!secret) fail('no admin secret: pass --secret, set GASTOWN_ADMIN_SECRET, or put it in packages/worker/.dev.vars');
  const userId = values.user ?? process.env.USER ?? 'dev';
  const body: { userId: string; ttlSeconds?: number } = { userId };
  if (values.ttl !== undefined) {
    const ttl = Number(values.ttl);
    if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive integer number of seconds');
    body.ttlSeconds = ttl;
  }
  let res: Response;
  try {
    res = await fetch(`${url}/api/admin/user-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    fail(`cannot reach ${url} (${err instanceof Error ? err.message : 'network error'}); is the worker running?`);
  }
  const payload = (await res.json().catch(() => null)) as { token?: string; error?: { code: string; message: string } } | null;
  if (!res.ok || !payload?.token) {
    fail(`${res.status} ${payload?.error ? `${payload.error.code}: ${payload.error.message}` : 'unexpected response'}`);
  }
  process.stdout.write(`${payload.token}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
