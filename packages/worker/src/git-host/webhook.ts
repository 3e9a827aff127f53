/**
 * Provider webhooks of a rig (pure, but for WebCrypto): the signature check and what a delivery
 * means for the town. GitHub signs the raw body with HMAC-SHA256 (`X-Hub-Signature-256:
 * sha256=<hex>`); GitLab sends the secret itself (`X-Gitlab-Token`). Both are compared in constant
 * time. Only a pull request (merge request) that closed matters; everything else is acknowledged
 * and ignored.
 */
import type { GitProviderKind } from '@gastown/protocol';
import { constantTimeEqual } from '../http/auth-middleware';

export type WebhookChange =
  | { kind: 'pull_request_closed'; number: number; merged: boolean; mergeCommitSha: string | null; repository: string | null }
  | { kind: 'ignored'; reason: string };

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** GitHub: `sha256=<hex>` of HMAC-SHA256(secret, raw body); `crypto.subtle.verify` compares in constant time. */
export async function verifyGitHubSignature(secret: string, rawBody: Uint8Array, header: string | null): Promise<boolean> {
  const match = SIGNATURE.exec(header?.trim() ?? '');
  if (!match) return false;
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return crypto.subtle.verify('HMAC', key, hexToBytes(match[1]!), rawBody);
}

/** The HMAC GitHub would send for `rawBody` (tests and the docs' example). */
export async function signGitHubBody(secret: string, rawBody: Uint8Array | string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const data = typeof rawBody === 'string' ? new TextEncoder().encode(rawBody) : rawBody;
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
  return `sha256=${[...mac].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** GitLab: the token header equals the secret. */
export async function verifyGitLabToken(secret: string, header: string | null): Promise<boolean> {
  if (!header) return false;
  return constantTimeEqual(header, secret);
}

function obj(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** What a verified delivery means. `event`: X-GitHub-Event / X-Gitlab-Event. */
export function interpretWebhook(provider: GitProviderKind, event: string | null, body: unknown): WebhookChange {
  const root = obj(body);
  if (!root) return { kind: 'ignored', reason: 'not a JSON object' };
  if (provider === 'github') {
    if (event !== 'pull_request') return { kind: 'ignored', reason: `event ${event ?? 'unknown'}` };
    const pr = obj(root.pull_request);
    if (root.action !== 'closed' || !pr || typeof pr.number !== 'number') return { kind: 'ignored', reason: `pull_request ${String(root.action)}` };
    const merged = pr.merged === true;
    return {
      kind: 'pull_request_closed',
      number: pr.number,
      merged,
      mergeCommitSha: merged && typeof pr.merge_commit_sha === 'string' ? pr.merge_commit_sha : null,
      repository: typeof obj(root.repository)?.full_name === 'string' ? (obj(root.repository)!.full_name as string) : null,
    };
  }
  if (event !== 'Merge Request Hook') return { kind: 'ignored', reason: `event ${event ?? 'unknown'}` };
  const attrs = obj(root.object_attributes);
  const action = attrs?.action;
  if (!attrs || typeof attrs.iid !== 'number' || (action !== 'merge' && action !== 'close'))
    return { kind: 'ignored', reason: `merge request ${String(action)}` };
  const merged = action === 'merge';
  return {
    kind: 'pull_request_closed',
    number: attrs.iid,
    merged,
    mergeCommitSha: merged && typeof attrs.merge_commit_sha === 'string' ? attrs.merge_commit_sha : null,
    repository: typeof obj(root.project)?.path_with_namespace === 'string' ? (obj(root.project)!.path_with_namespace as string) : null,
  };
}
