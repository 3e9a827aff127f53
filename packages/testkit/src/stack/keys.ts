/**
 * Key material of a local stack: the JWT keyring (one random 48-byte key), the admin secret
 * and the container key. Generated once and written only to gitignored files (the stack's
 * env file, `.dev.vars`, `.gastown/dev.json`), never logged.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { z } from 'zod';
import { StackError } from './errors';

export interface StackKeys {
  /** `GASTOWN_JWT_KEYS`: `{kid: secret}`. */
  jwtKeys: Record<string, string>;
  /** `GASTOWN_JWT_ACTIVE_KID`. */
  activeKid: string;
  /** `GASTOWN_ADMIN_SECRET` (≥ 32 chars). */
  adminSecret: string;
  /** `GASTOWN_CONTAINER_KEY` of the deployment, shared by the worker and the container host; each town container gets only its own key derived from it. */
  containerKey: string;
}

export const StackKeysSchema = z
  .object({
    jwtKeys: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), z.string().min(32)),
    activeKid: z.string().min(1),
    adminSecret: z.string().min(32),
    containerKey: z.string().min(16),
  })
  .refine((k) => Object.hasOwn(k.jwtKeys, k.activeKid), 'activeKid must name a key in jwtKeys');

export type RandomBytes = (n: number) => Uint8Array;

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** Fresh keys: kid `k<date>-<hex>`, a 48-byte signing secret, 32-byte admin and container secrets. */
export function generateStackKeys(randomBytes: RandomBytes = nodeRandomBytes, now: Date = new Date()): StackKeys {
  const kid = `k${now.toISOString().slice(0, 10).replaceAll('-', '')}-${Buffer.from(randomBytes(4)).toString('hex')}`;
  return {
    jwtKeys: { [kid]: b64url(randomBytes(48)) },
    activeKid: kid,
    adminSecret: b64url(randomBytes(32)),
    containerKey: b64url(randomBytes(32)),
  };
}

/** The worker's secrets, as env names → values. */
export function workerSecrets(keys: StackKeys): Record<string, string> {
  return {
    GASTOWN_JWT_KEYS: JSON.stringify(keys.jwtKeys),
    GASTOWN_JWT_ACTIVE_KID: keys.activeKid,
    GASTOWN_ADMIN_SECRET: keys.adminSecret,
    GASTOWN_CONTAINER_KEY: keys.containerKey,
  };
}

/** Every secret value of the key set (for leak scans and log redaction). */
export function secretValues(keys: StackKeys): string[] {
  return [...Object.values(keys.jwtKeys), keys.adminSecret, keys.containerKey];
}

/**
 * dotenv / `.dev.vars` text. Values are single-quoted (no expansion, JSON survives); a value
 * holding a single quote or a newline is refused rather than mangled.
 */
export function formatEnvFile(vars: Record<string, string>, header = ''): string {
  const lines = header ? header.split('\n').map((l) => `# ${l}`) : [];
  for (const [name, value] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new StackError('stack_bad_option', `bad env var name ${name}`);
    if (/['\n\r]/.test(value)) throw new StackError('stack_bad_option', `env var ${name} holds a quote or a newline`);
    lines.push(`${name}='${value}'`);
  }
  return `${lines.join('\n')}\n`;
}

/** Parse dotenv lines (`NAME=value`, optional quotes, `#` comments). */
export function parseEnvFile(text: string): Record<string, string> {
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
