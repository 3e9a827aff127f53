/**
 * The verify benchmark, runnable in Node and (bundled) inside workerd. It compares, on the
 * same token and key: a raw WebCrypto HMAC-SHA256 verify of the signing input (the floor),
 * jose's jwtVerify with our options, and verifyAgentAccessToken (jose + zod + error mapping).
 */
import { AGENT_AUDIENCE, CLOCK_TOLERANCE_SECONDS, TOKEN_ISSUER } from '@gastown/protocol';
import { jwtVerify } from 'jose';
import { createKeyring, createTokenPolicy, mintAgentAccessToken, verifyAgentAccessToken, type AuthConfig } from '../../packages/worker/src/auth';

export const CASES = ['raw-hmac', 'jose-jwtVerify', 'verifyAgentAccessToken'] as const;
export type CaseName = (typeof CASES)[number];

export interface Prepared {
  token: string;
  run: Record<CaseName, () => Promise<unknown>>;
}

const NOW = Date.UTC(2026, 0, 5, 9, 0, 0);
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

function fromBase64url(value: string): Uint8Array<ArrayBuffer> {
  const binary = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
  return new Uint8Array(Array.from(binary, (c) => c.charCodeAt(0)));
}

export async function prepare(): Promise<Prepared> {
  const config: AuthConfig = { keyring: createKeyring({ k1: SECRET }, 'k1'), policy: createTokenPolicy(3600), adminSecret: null };
  const subject = { id: 'ag_bench0001', townId: 'town_bench01', rigId: 'rig_bench01', userId: 'user-1', role: 'polecat' as const, gen: 1 };
  const { accessToken: token } = await mintAgentAccessToken(config, subject, { ttlSeconds: 3600, now: NOW });
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const signingInput = new TextEncoder().encode(`${header}.${payload}`);
  const signatureBytes = fromBase64url(signature);
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const currentDate = new Date(NOW);
  const run: Prepared['run'] = {
    'raw-hmac': async () => {
      if (!(await crypto.subtle.verify('HMAC', key, signatureBytes, signingInput))) throw new Error('raw verify failed');
    },
    'jose-jwtVerify': () =>
      jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        audience: AGENT_AUDIENCE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: 3600,
        currentDate,
      }),
    verifyAgentAccessToken: () => verifyAgentAccessToken(config, token, { now: NOW }),
  };
  for (const name of CASES) await run[name](); // each must succeed before it is timed
  return { token, run };
}

export async function loop(fn: () => Promise<unknown>, iterations: number): Promise<void> {
  for (let i = 0; i < iterations; i += 1) await fn();
}

export interface ResultRow {
  name: string;
  usPerOp: number;
}

export function formatTable(title: string, rows: readonly ResultRow[]): string {
  const floor = rows.find((r) => r.name === 'raw-hmac')?.usPerOp ?? Number.NaN;
  const lines = [
    title,
    `${'case'.padEnd(26)}${'µs/op'.padStart(10)}${'ops/s'.padStart(12)}${'× raw'.padStart(9)}`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(26)}${r.usPerOp.toFixed(2).padStart(10)}${Math.round(1e6 / r.usPerOp)
          .toLocaleString('en-US')
          .padStart(12)}${(r.usPerOp / floor).toFixed(2).padStart(9)}`,
    ),
  ];
  return lines.join('\n');
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
