/**
 * The models a town's provider offers, for the dashboard's model pickers: one GET of
 * `{baseUrl}{modelsPath}` with the provider key sent the kind's way (PROVIDER_KIND_INFO.auth).
 * Best effort by design: any failure answers `{source: 'none', models: []}`, and the log names
 * only the provider kind and what went wrong — never the key, the URL's query or the upstream body.
 */
import { PROVIDER_KIND_INFO, type ModelListResponse, type ProviderConfig } from '@gastown/protocol';
import type { FetchFn } from '../git-host';
import type { Logger } from './rpc-result';

export const MODEL_LIST_TIMEOUT_MS = 5_000;
/** The Anthropic API version sent with an `x-api-key` request. */
export const ANTHROPIC_VERSION = '2023-06-01';
/** At most this many models are returned (a provider listing more is cut). */
export const MAX_LISTED_MODELS = 1_000;

export interface ProviderModelsDeps {
  fetch: FetchFn;
  logger: Logger;
  townId: string;
  timeoutMs?: number;
}

const NONE: ModelListResponse = { source: 'none', models: [] };

/** The request headers of a model list call: the key as the kind sends it (none without a key). */
export function modelListHeaders(provider: ProviderConfig, apiKey: string | null): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'gastown-cloud' };
  if (apiKey === null || apiKey === '') return headers;
  if (PROVIDER_KIND_INFO[provider.kind].auth === 'x-api-key') {
    headers['x-api-key'] = apiKey;
    headers['anthropic-version'] = ANTHROPIC_VERSION;
  } else {
    headers.authorization = `Bearer ${apiKey}`;
  }
  return headers;
}

/** `{data: [{id, display_name? | name?}]}` → the listed models; null when the body is not that shape. */
export function parseModelList(body: unknown): ModelListResponse['models'] | null {
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { data?: unknown }).data)) return null;
  const models: ModelListResponse['models'] = [];
  for (const entry of (body as { data: unknown[] }).data) {
    if (entry === null || typeof entry !== 'object') continue;
    const { id, display_name: displayName, name } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') continue;
    const label = typeof displayName === 'string' ? displayName : typeof name === 'string' ? name : null;
    models.push({ id, name: label });
    if (models.length >= MAX_LISTED_MODELS) break;
  }
  return models;
}

export async function listProviderModels(deps: ProviderModelsDeps, provider: ProviderConfig, apiKey: string | null): Promise<ModelListResponse> {
  const path = PROVIDER_KIND_INFO[provider.kind].modelsPath;
  if (path === null) return NONE;
  const fail = (reason: string, status: number | null = null): ModelListResponse => {
    deps.logger.warn({ msg: 'provider model list unavailable', townId: deps.townId, kind: provider.kind, reason, status });
    return NONE;
  };
  let res: Response;
  try {
    res = await deps.fetch(`${provider.baseUrl}${path}`, {
      method: 'GET',
      headers: modelListHeaders(provider, apiKey),
      signal: AbortSignal.timeout(deps.timeoutMs ?? MODEL_LIST_TIMEOUT_MS),
    });
  } catch (err) {
    return fail(err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? 'timeout' : 'unreachable');
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return fail('status', res.status);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return fail('bad_json', res.status);
  }
  const models = parseModelList(body);
  return models === null ? fail('bad_shape', res.status) : { source: 'provider', models };
}
