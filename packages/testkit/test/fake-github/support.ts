/** Helpers for the fake GitHub's tests: real git as a client, app JWTs, a hand-driven clock. */
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { FakeApp } from '../../src/fake-github/index';

export { ManualClock } from '../../src/fake-control-plane/manual-time';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

const HOME = mkdtempSync(join(tmpdir(), 'fake-github-client-'));

/**
 * Run git (asynchronously: the fake serves from this same process) with a credential helper that
 * answers `username` / `$FAKE_GH_TOKEN`, and nothing else from any config.
 */
export function gitWith(token: string | null, args: string[], cwd?: string, username = 'x-access-token'): Promise<GitResult> {
  const helper = token === null ? [] : ['-c', `credential.helper=!f() { echo username=${username}; echo "password=$FAKE_GH_TOKEN"; }; f`];
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-c', 'credential.helper=', ...helper, ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH,
          HOME,
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_TERMINAL_PROMPT: '0',
          GIT_AUTHOR_NAME: 'Tester',
          GIT_AUTHOR_EMAIL: 'tester@example.com',
          GIT_COMMITTER_NAME: 'Tester',
          GIT_COMMITTER_EMAIL: 'tester@example.com',
          ...(token === null ? {} : { FAKE_GH_TOKEN: token }),
        },
        encoding: 'utf8',
      },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An app JWT as the product signs it: RS256, iat − 60 s, exp + 9 min, iss = app id; PKCS#1 key taken as is. */
export async function appJwt(
  app: FakeApp,
  nowMs: number,
  overrides: { iss?: string; expSeconds?: number; iatSeconds?: number; keyPem?: string } = {},
): Promise<string> {
  const nowSeconds = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(overrides.iss ?? app.appId)
    .setIssuedAt(overrides.iatSeconds ?? nowSeconds - 60)
    .setExpirationTime(overrides.expSeconds ?? nowSeconds + 9 * 60)
    .sign(createPrivateKey(overrides.keyPem ?? app.privateKeyPem));
}

export async function api(
  base: string,
  method: string,
  path: string,
  auth: string | null,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      ...(auth ? { authorization: auth } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
