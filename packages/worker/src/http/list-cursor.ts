import { GastownError, PAGE_LIMITS } from '@gastown/protocol';
import type { PageKey, PageRequest } from '../town/list-page';

/**
 * The opaque `cursor` / `nextCursor` of the user API's lists: base64url of `<list>.<key>`. The
 * list name makes a cursor of one list useless on another; the key is (createdAt, id) for
 * agents, beads, mail and convoys, the event id for events. Opaque to clients: only this file reads it.
 */
export type CursorList = 'agents' | 'beads' | 'mail' | 'events' | 'convoys';

const ITEM_ID = /^[a-z]{2,6}_[a-z0-9]{6,40}$/;
const WHOLE = /^\d{1,16}$/;

function toBase64Url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(cursor: string): string | null {
  try {
    return atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return null;
  }
}

function badCursor(): GastownError {
  return new GastownError('validation_failed', 'query.cursor: not a nextCursor of this list');
}

/** The fields of `<list>.<a>.<b>…` for this list, or a 400. */
function fields(list: CursorList, cursor: string, count: number): string[] {
  const parts = fromBase64Url(cursor)?.split('.');
  if (!parts || parts.length !== count + 1 || parts[0] !== list) throw badCursor();
  return parts.slice(1);
}

export function encodeKeyCursor(list: Exclude<CursorList, 'events'>, key: PageKey): string {
  return toBase64Url(`${list}.${key.createdAt}.${key.id}`);
}

export function decodeKeyCursor(list: Exclude<CursorList, 'events'>, cursor: string): PageKey {
  const [createdAt = '', id = ''] = fields(list, cursor, 2);
  if (!WHOLE.test(createdAt) || !ITEM_ID.test(id)) throw badCursor();
  return { createdAt: Number(createdAt), id };
}

export function encodeEventCursor(eventId: number): string {
  return toBase64Url(`events.${eventId}`);
}

export function decodeEventCursor(cursor: string): number {
  const [id = ''] = fields('events', cursor, 1);
  if (!WHOLE.test(id) || !Number.isSafeInteger(Number(id))) throw badCursor();
  return Number(id);
}

/** A list query's page request (`limit` already bounded by zod; absent → the default). */
export function keyPageRequest(list: Exclude<CursorList, 'events'>, query: { limit?: number; cursor?: string }): PageRequest {
  return { limit: query.limit ?? PAGE_LIMITS.defaultLimit, after: query.cursor === undefined ? null : decodeKeyCursor(list, query.cursor) };
}

export function nextKeyCursor(list: Exclude<CursorList, 'events'>, next: PageKey | null): string | null {
  return next === null ? null : encodeKeyCursor(list, next);
}
