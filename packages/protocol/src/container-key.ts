// Imports only the zod-free gastown-error: the worker (workerd) and the container host (Node) share it.
import { GastownError } from './gastown-error';

/** Domain separation of the derivation: a key derived here is never valid as anything else. */
export const TOWN_CONTAINER_KEY_CONTEXT = 'gastown-container-key:v1:';

/** What every derived key looks like: 64 lowercase hex characters. */
const TOWN_CONTAINER_KEY_SHAPE = /^[0-9a-f]{64}$/;

/** Whether a presented value can be a town's container key at all (a cheap check before any derivation). */
export function isTownContainerKeyShape(value: string): boolean {
  return TOWN_CONTAINER_KEY_SHAPE.test(value);
}

/** The deployment key must be at least this long (GASTOWN_CONTAINER_KEY, as the worker and host check it). */
const MIN_DEPLOYMENT_KEY_CHARS = 16;

/**
 * The container key of one town: HMAC-SHA256(deployment key, "gastown-container-key:v1:" + townId),
 * 64 lowercase hex characters. The deployment key (GASTOWN_CONTAINER_KEY) stays with the worker and
 * the local container host; a town's container is given only its own derived key, so it cannot
 * authenticate as another town's container, and the deployment key cannot be recovered from it.
 * WebCrypto (`crypto.subtle`) only: the same function runs in workerd and in Node 20.
 */
export async function deriveTownContainerKey(deploymentKey: string, townId: string): Promise<string> {
  if (typeof deploymentKey !== 'string' || deploymentKey.length < MIN_DEPLOYMENT_KEY_CHARS) {
    throw new GastownError('config_invalid', `the container key must be at least ${MIN_DEPLOYMENT_KEY_CHARS} characters`);
  }
  if (typeof townId !== 'string' || townId.length === 0) throw new GastownError('validation_failed', 'a town container key needs a town id');
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(deploymentKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(TOWN_CONTAINER_KEY_CONTEXT + townId)));
  let hex = '';
  for (const byte of mac) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
