import { GastownError } from '@gastown/protocol';
import { nullContainerClientFactory, type ContainerClientFactory } from '../container-client';
import { ControlApiContainerClient } from './control-api-client';
import { DurableObjectTransport, type TownContainerRpc } from './do-transport';
import { HostTransport } from './host-transport';

export type ContainerMode = 'host' | 'cloudflare' | 'none';

/**
 * Which container runtime a deployment uses, decided from configuration alone and BEFORE any
 * Durable Object is touched (the production Container class throws without a container runtime):
 * - `GASTOWN_CONTAINER_HOST_URL` set → the local container host (wrangler dev);
 * - else the `TOWN_CONTAINER` binding (only in wrangler.production.jsonc) → Cloudflare Containers;
 * - else none (tests, or wrangler dev without a host): nothing can start.
 */
export function containerMode(env: Pick<Env, 'GASTOWN_CONTAINER_HOST_URL' | 'TOWN_CONTAINER'>): ContainerMode {
  if (env.GASTOWN_CONTAINER_HOST_URL?.trim()) return 'host';
  if (env.TOWN_CONTAINER) return 'cloudflare';
  return 'none';
}

export function containerClientFactoryFromEnv(
  env: Pick<Env, 'GASTOWN_CONTAINER_HOST_URL' | 'TOWN_CONTAINER' | 'GASTOWN_CONTAINER_KEY'>,
  fetcher: typeof fetch = (input, init) => fetch(input, init),
): ContainerClientFactory {
  const mode = containerMode(env);
  if (mode === 'none') return nullContainerClientFactory;
  const containerKey = env.GASTOWN_CONTAINER_KEY?.trim() ?? '';
  if (containerKey.length < 16)
    throw new GastownError('config_invalid', 'configuration: GASTOWN_CONTAINER_KEY (≥ 16 characters) is required with a container runtime');
  if (mode === 'host') {
    const baseUrl = parseHostUrl(env.GASTOWN_CONTAINER_HOST_URL ?? '');
    return (townId) => new ControlApiContainerClient(new HostTransport({ baseUrl, containerKey, townId, fetch: fetcher }));
  }
  const namespace = env.TOWN_CONTAINER!;
  return (townId) =>
    new ControlApiContainerClient(new DurableObjectTransport(namespace.get(namespace.idFromName(townId)) as unknown as TownContainerRpc, townId));
}

function parseHostUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new GastownError('config_invalid', 'configuration: GASTOWN_CONTAINER_HOST_URL must be an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new GastownError('config_invalid', 'configuration: GASTOWN_CONTAINER_HOST_URL must be an http(s) URL');
  return url.toString().replace(/\/+$/, '');
}
