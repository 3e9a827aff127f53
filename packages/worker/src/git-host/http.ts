/**
 * One REST call to a git host: JSON in and out, a timeout, and a host that cannot be reached or
 * answers 5xx turned into `upstream_failed` (the caller maps 4xx to what they mean). The bearer
 * credential goes in the Authorization header only; no URL, error or log ever holds it.
 */
import { GastownError } from '@gastown/protocol';
import type { GitHostDeps } from './types';

const DEFAULT_TIMEOUT_MS = 15_000;

export interface HostResponse {
  status: number;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: unknown;
}

export interface HostRequest {
  method: 'GET' | 'POST';
  url: string;
  /** `Authorization` header value (e.g. `Bearer <token>`), or null. */
  authorization: string | null;
  headers?: Record<string, string>;
  json?: unknown;
}

/** The host part of a URL, for messages (never a path or query). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the git host';
  }
}

export async function hostRequest(deps: Pick<GitHostDeps, 'fetch' | 'timeoutMs'>, req: HostRequest): Promise<HostResponse> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'gastown-cloud', ...req.headers };
  if (req.authorization) headers.authorization = req.authorization;
  if (req.json !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await deps.fetch(req.url, {
      method: req.method,
      headers,
      body: req.json === undefined ? undefined : JSON.stringify(req.json),
      signal: AbortSignal.timeout(deps.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (err) {
    throw new GastownError('upstream_failed', `the git host ${hostOf(req.url)} cannot be reached`, { cause: err });
  }
  const text = await res.text().catch(() => '');
  let body: unknown = null;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (res.status >= 500) throw new GastownError('upstream_failed', `the git host ${hostOf(req.url)} answered ${res.status}`);
  return { status: res.status, body };
}

/** A string field of a JSON object, or null. */
export function stringField(body: unknown, key: string): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : null;
}

export function numberField(body: unknown, key: string): number | null {
  if (typeof body !== 'object' || body === null) return null;
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function objectField(body: unknown, key: string): Record<string, unknown> | null {
  if (typeof body !== 'object' || body === null) return null;
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
