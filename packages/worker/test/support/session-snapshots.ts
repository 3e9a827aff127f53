/**
 * Session snapshots as the container sends them (gzip-compressed JSON, its SHA-256 and meta in
 * headers), the agent API's session routes, and the R2 bucket behind them (env.SESSIONS).
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import {
  SESSION_SNAPSHOT_CONTENT_TYPE,
  SESSION_SNAPSHOT_FORMAT,
  SESSION_SNAPSHOT_META_HEADER,
  SESSION_SNAPSHOT_SHA256_HEADER,
  type SessionSnapshot,
  type SessionSnapshotMeta,
} from '@gastown/protocol';
import { BASE, call, type AgentWithCredentials, type CallResult } from '../helpers';

export function sessionPath(who: Pick<AgentWithCredentials, 'agent'>): string {
  return `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/session`;
}

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A snapshot of `turns` user turns (one user and one assistant message each), ready to upload. */
export async function makeSnapshot(turns = 2, text = 'hello'): Promise<{ bytes: Uint8Array; sha256: string; meta: SessionSnapshotMeta }> {
  const messages: SessionSnapshot['messages'] = [];
  for (let i = 0; i < turns; i++) {
    messages.push({ info: { id: `msg_u${i}`, role: 'user' }, parts: [{ type: 'text', text: `${text} ${i}` }] });
    messages.push({ info: { id: `msg_a${i}`, role: 'assistant' }, parts: [{ type: 'text', text: `answer ${i}` }] });
  }
  const snapshot: SessionSnapshot = {
    format: SESSION_SNAPSHOT_FORMAT,
    runtime: 'opencode',
    sessionId: 'ses_durable_1',
    savedAt: Date.now(),
    droppedTurns: 0,
    session: { id: 'ses_durable_1', title: 'mayor' },
    messages,
  };
  const raw = new TextEncoder().encode(JSON.stringify(snapshot));
  const bytes = await gzip(raw);
  const meta: SessionSnapshotMeta = {
    format: SESSION_SNAPSHOT_FORMAT,
    runtime: 'opencode',
    sessionId: snapshot.sessionId,
    savedAt: snapshot.savedAt,
    reason: 'message',
    turns,
    messages: messages.length,
    rawBytes: raw.byteLength,
    droppedTurns: 0,
  };
  return { bytes, sha256: await sha256Hex(bytes), meta };
}

export interface PutOptions {
  sha256?: string | null;
  meta?: string | null;
  contentType?: string | null;
  body?: BodyInit;
  token?: string;
}

/** PUT a snapshot as the container does; each header can be replaced or left out (null). */
export function putSnapshot(
  who: AgentWithCredentials,
  snap: { bytes: Uint8Array; sha256: string; meta: SessionSnapshotMeta },
  o: PutOptions = {},
): Promise<CallResult> {
  const headers: Record<string, string> = {};
  const contentType = o.contentType === undefined ? SESSION_SNAPSHOT_CONTENT_TYPE : o.contentType;
  const sha = o.sha256 === undefined ? snap.sha256 : o.sha256;
  const meta = o.meta === undefined ? JSON.stringify(snap.meta) : o.meta;
  if (contentType !== null) headers['content-type'] = contentType;
  if (sha !== null) headers[SESSION_SNAPSHOT_SHA256_HEADER] = sha;
  if (meta !== null) headers[SESSION_SNAPSHOT_META_HEADER] = meta;
  return call('PUT', sessionPath(who), { token: o.token ?? who.token, headers, rawBody: o.body ?? (snap.bytes as Uint8Array<ArrayBuffer>) });
}

/** GET the stored snapshot: the raw response (its body is bytes on success, a JSON error otherwise). */
export async function getSnapshot(who: AgentWithCredentials, token = who.token): Promise<{ status: number; headers: Headers; bytes: Uint8Array; json: any }> {
  const res = await exports.default.fetch(new Request(`${BASE}${sessionPath(who)}`, { headers: { authorization: `Bearer ${token}` } }));
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json: any = null;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(new TextDecoder().decode(bytes));
  return { status: res.status, headers: res.headers, bytes, json };
}

/** Keys of the R2 objects under an agent's session prefix. */
export async function sessionObjects(townId: string, agentId: string): Promise<string[]> {
  const listed = await env.SESSIONS.list({ prefix: `towns/${townId}/agents/${agentId}/session/` });
  return listed.objects.map((o) => o.key).sort();
}

/** Every R2 object of a town. */
export async function townObjects(townId: string): Promise<string[]> {
  const listed = await env.SESSIONS.list({ prefix: `towns/${townId}/` });
  return listed.objects.map((o) => o.key).sort();
}
