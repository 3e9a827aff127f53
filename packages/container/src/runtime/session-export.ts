/**
 * The runtime's session over its HTTP API: the export (`GET /session/:id` + `GET /session/:id/message`,
 * the same `{info, messages}` as `opencode export`) and whether a session exists.
 */
import type { OpencodeClient } from '@opencode-ai/sdk';
import type { SessionMessage } from '@gastown/protocol';
import type { SessionExport } from '../session/snapshot-codec';
import { RuntimeError } from './errors';

export async function exportSession(client: OpencodeClient, id: string, timeoutMs: number): Promise<SessionExport> {
  const signal = AbortSignal.timeout(timeoutMs);
  let info: Awaited<ReturnType<OpencodeClient['session']['get']>>;
  let messages: Awaited<ReturnType<OpencodeClient['session']['messages']>>;
  try {
    [info, messages] = await Promise.all([client.session.get({ path: { id }, signal }), client.session.messages({ path: { id }, signal })]);
  } catch (error) {
    throw new RuntimeError('runtime_export_failed', `could not export the session: ${error instanceof Error ? error.message : 'request failed'}`, {
      cause: error,
    });
  }
  if (!info.data || !messages.data) {
    throw new RuntimeError('runtime_export_failed', `could not export the session (HTTP ${info.response.status}, ${messages.response.status})`);
  }
  // the runtime's own types; the snapshot codec checks the shape it needs
  return { session: info.data as unknown as SessionExport['session'], messages: messages.data as unknown as SessionMessage[] };
}

/** Whether the runtime has the session `id` (false on any failure). */
export async function hasSession(client: OpencodeClient, id: string, timeoutMs: number): Promise<boolean> {
  try {
    const result = await client.session.get({ path: { id }, signal: AbortSignal.timeout(timeoutMs) });
    return result.data?.id === id;
  } catch {
    return false;
  }
}
