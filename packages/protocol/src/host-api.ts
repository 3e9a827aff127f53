// Imports only route-path (no zod): the container host and the worker's HostTransport share it.
import { routePath } from './route-path';

const CONTAINER = '/towns/:townId/container';

/**
 * Route table of the local container host (packages/container/src/host), which emulates
 * Cloudflare Containers for local development. Same shared key as the container control API
 * (CONTAINER_KEY_HEADER). `forward` passes any request on to the town's container, waking it.
 */
export const HOST_API = {
  settings: '/towns/:townId/settings',
  state: '/towns/:townId/state',
  keepAwake: '/towns/:townId/keep-awake',
  kill: '/towns/:townId/kill',
  stop: '/towns/:townId/stop',
  /** POST: the town is deleted: its container is killed (no drain) and its data dir removed. */
  destroy: '/towns/:townId/destroy',
  container: CONTAINER,
  forward: `${CONTAINER}/*`,
} as const;

/** Header the host adds to forwarded answers: the instance id of the container that answered. */
export const HOST_INSTANCE_HEADER = 'x-gastown-instance-id';

/** Host path that forwards `path` (e.g. `/agents`; empty for the prefix itself) to the town's container. */
export function hostContainerPath(townId: string, path = ''): string {
  return routePath(HOST_API.container, { townId }) + path;
}
