import { CONTAINER_KEY_HEADER, GastownError } from '@gastown/protocol';
import type { ContainerSettings } from '../container-client';
import type { ContainerCall, ContainerCallResult } from './container-rpc';
import { DEFAULT_CONTAINER_TIMEOUTS, type ContainerTimeouts, type ContainerTransport } from './container-transport';

/** Routes of the local container host (packages/container/src/host/host-server.ts, HOST_API). */
export const HOST_ROUTES = {
  settings: (townId: string) => `/towns/${townId}/settings`,
  state: (townId: string) => `/towns/${townId}/state`,
  keepAwake: (townId: string) => `/towns/${townId}/keep-awake`,
  container: (townId: string, path: string) => `/towns/${townId}/container${path}`,
} as const;

/** Header the host adds to forwarded answers: the instance id of the container that answered. */
export const HOST_INSTANCE_HEADER = 'x-gastown-instance-id';

export interface HostTransportOptions {
  /** Base URL of the container host, e.g. http://127.0.0.1:8788 (GASTOWN_CONTAINER_HOST_URL). */
  baseUrl: string;
  containerKey: string;
  townId: string;
  fetch: typeof fetch;
  timeouts?: ContainerTimeouts;
}

/**
 * Local development: the container host emulates Cloudflare Containers (one process per town,
 * started on the first forwarded request, asleep after sleepAfter). Calls that may not wake a
 * town first ask `GET /towns/:townId/state`, which never starts a container.
 */
export class HostTransport implements ContainerTransport {
  private readonly baseUrl: string;
  private readonly timeouts: ContainerTimeouts;

  constructor(private readonly options: HostTransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeouts = options.timeouts ?? DEFAULT_CONTAINER_TIMEOUTS;
  }

  async call(req: ContainerCall): Promise<ContainerCallResult> {
    if (!req.wake && !(await this.running())) return { running: false };
    const budget = req.path === '/agents' && req.method === 'POST' ? this.timeouts.startMs : req.path.endsWith('/messages') ? this.timeouts.deliverMs : this.timeouts.otherMs;
    const response = await this.request(HOST_ROUTES.container(this.options.townId, req.path), { method: req.method, body: req.body }, budget);
    return { running: true, status: response.status, body: await response.text(), instanceId: response.headers.get(HOST_INSTANCE_HEADER) };
  }

  async configure(settings: ContainerSettings): Promise<void> {
    const response = await this.request(HOST_ROUTES.settings(this.options.townId), { method: 'PUT', body: settings }, this.timeouts.otherMs);
    await response.body?.cancel();
    if (!response.ok) throw new GastownError('upstream_failed', `the container host refused the town settings (HTTP ${response.status})`);
  }

  async keepAwake(): Promise<boolean> {
    const response = await this.request(HOST_ROUTES.keepAwake(this.options.townId), { method: 'POST' }, this.timeouts.otherMs);
    const body = (await response.json().catch(() => null)) as { running?: unknown } | null;
    if (!response.ok) throw new GastownError('upstream_failed', `the container host refused to keep the town awake (HTTP ${response.status})`);
    return body?.running === true;
  }

  /** Whether the town's container runs now, as the host sees it (never wakes it). */
  async running(): Promise<boolean> {
    const response = await this.request(HOST_ROUTES.state(this.options.townId), { method: 'GET' }, this.timeouts.otherMs);
    if (!response.ok) {
      await response.body?.cancel();
      throw new GastownError('upstream_failed', `the container host did not report the town's state (HTTP ${response.status})`);
    }
    const state = (await response.json().catch(() => null)) as { running?: unknown } | null;
    return state?.running === true;
  }

  private async request(path: string, init: { method: string; body?: unknown }, timeoutMs: number): Promise<Response> {
    const headers: Record<string, string> = { [CONTAINER_KEY_HEADER]: this.options.containerKey };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.options.fetch(this.baseUrl + path, {
        method: init.method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new GastownError('container_unavailable', timedOut ? `the container host did not answer within ${Math.round(timeoutMs / 1000)} s` : 'the container host is unreachable');
    }
  }
}
