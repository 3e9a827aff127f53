/** Realistic credentials of every kind, minted fresh per test, and temp-dir helpers. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentIdentity } from '@gastown/protocol';
import { mintAgentToken } from '../../src/fake-control-plane/tokens';

export interface Credentials {
  accessToken: string;
  refreshCredential: string;
  signingSecret: string;
  providerKey: string;
  containerKey: string;
}

const AGENT: AgentIdentity = { id: 'ag_leakscan01', townId: 'town_leakscan1', rigId: null, userId: 'user-1', role: 'mayor', name: 'mayor', gen: 1 };

export async function mintCredentials(): Promise<Credentials> {
  const signingSecret = `jwt-secret-${randomBytes(24).toString('base64url')}`;
  const { token } = await mintAgentToken(new TextEncoder().encode(signingSecret), AGENT, 1, Date.now(), 3600);
  return {
    accessToken: token,
    refreshCredential: `gtr_${randomBytes(32).toString('base64url')}`,
    signingSecret,
    providerKey: `sk-provider-${randomBytes(20).toString('hex')}`,
    containerKey: `container-key-${randomBytes(24).toString('hex')}`,
  };
}

export const CREDENTIAL_KINDS = ['accessToken', 'refreshCredential', 'signingSecret', 'providerKey', 'containerKey'] as const;

export async function tempDir(prefix: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `gastown-leak-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Ordinary text a log or a state file holds, that must never look like a credential. */
export const ORDINARY_TEXT = [
  'The quick brown fox jumps over the lazy dog. eyJ is how base64 of {" starts.',
  '{"level":"info","msg":"credential.refreshed","agentId":"ag_abc123","fingerprint":"a1b2c3d4","expiresAt":1767225600000}',
  'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 and commit 3f282e0a1b2c3d4e5f60718293a4b5c6d7e8f901',
  'base64 blob: SGVsbG8sIFdvcmxkISBUaGlzIGlzIG5vdCBhIHRva2VuLCBqdXN0IGRhdGEu',
  'version 1.18.33, ids town_8f3k2j1h ag_1a2b3c4d bd_zz99yy88, urls https://example.com/a.b.c?x=1',
  'a.b.c eyJhbGciOiJIUzI1NiJ9 alone is a header, not a token; gtr_ alone is a prefix; gtr_short too',
  'dotted.identifiers.everywhere.in.java.style.package.names.and.more',
].join('\n');
