import { CONTAINER_KEY_HEADER, GastownError, HOST_API, HOST_INSTANCE_HEADER, hostContainerPath } from '@gastown/protocol';
import { routePath } from '@gastown/protocol/route-path';
import type { ContainerSettings } from '../container-client';
import { callBudgetMs } from './container-limits';
import type { ContainerCall, ContainerCallResult } from './container-rpc';
import { DEFAULT_CONTAINER_TIMEOUTS, type ContainerTimeouts, type ContainerTransport } from './container-transport';
import { lazyTownContainerKey } from './town-key';

export interface HostTransportOptions {
  /** Base URL of the container host, e.g. http://127.0.0.1:8788 (GASTOWN_CONTAINER_HOST_URL). */
  baseUrl: string;
  /**
   * The deployment's container key (GASTOWN_CONTAINER_KEY): it authenticates the host's own routes.
   * Calls forwarded to the town's container carry the town's derived key instead — the only key
   * that container knows.
   */
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
  private readonly townKey: () => Promise<string>;

  constructor(private readonly options: HostTransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeouts = options.timeouts ?? DEFAULT_CONTAINER_TIMEOUTS;
    this.townKey = lazyTownContainerKey(options.containerKey, options.townId);
  }

  async call(req: ContainerCall): Promise<ContainerCallResult> {
    if (!req.wake && !(await this.running())) return { running: false };
    const budget = callBudgetMs(req, this.timeouts);
    const response = await this.request(hostContainerPath(this.options.townId, req.path), { method: req.method, body: req.body }, budget, await this.townKey());
    return { running: true, status: response.status, body: await response.text(), instanceId: response.headers.get(HOST_INSTANCE_HEADER) };
  }

  async configure(settings: ContainerSettings): Promise<void> {
    const response = await this.request(this.route(HOST_API.settings), { method: 'PUT', body: settings }, this.timeouts.otherMs);
    await response.body?.cancel();
    if (!response.ok) throw new GastownError('upstream_failed', `the container host refused the town settings (HTTP ${response.status})`);
  }

  async keepAwake(): Promise<boolean> {
    const response = await this.request(this.route(HOST_API.keepAwake), { method: 'POST' }, this.timeouts.otherMs);
    const body = (await response.json().catch(() => null)) as { running?: unknown } | null;
    if (!response.ok) throw new GastownError('upstream_failed', `the container host refused to keep the town awake (HTTP ${response.status})`);
    return body?.running === true;
  }

  /**
   * The host's graceful stop (HOST_API.stop): SIGTERM, the container drains, SIGKILL after the host's
   * grace period. The host answers once the process has exited, so the budget is a start's (the
   * drain commits and pushes work). A town that sleeps is left alone: nothing is started.
   */
  async restart(): Promise<{ wasRunning: boolean }> {
    if (!(await this.running())) return { wasRunning: false };
    const response = await this.request(this.route(HOST_API.stop), { method: 'POST' }, this.timeouts.startMs);
    await response.body?.cancel();
    if (!response.ok) throw new GastownError('upstream_failed', `the container host refused to stop the town's container (HTTP ${response.status})`);
    return { wasRunning: true };
  }

  /** The host's destroy (HOST_API.destroy): the town's container is killed and its data dir removed; it answers once both are done. */
  async destroy(): Promise<{ wasRunning: boolean }> {
    const response = await this.request(this.route(HOST_API.destroy), { method: 'POST' }, this.timeouts.startMs);
    const body = (await response.json().catch(() => null)) as { wasRunning?: unknown } | null;
    if (!response.ok) throw new GastownError('upstream_failed', `the container host refused to destroy the town's container (HTTP ${response.status})`);
    return { wasRunning: body?.wasRunning === true };
  }

  /** Whether the town's container runs now, as the host sees it (never wakes it). */
  async running(): Promise<boolean> {
    const response = await this.request(this.route(HOST_API.state), { method: 'GET' }, this.timeouts.otherMs);
    if (!response.ok) {
      await response.body?.cancel();
      throw new GastownError('upstream_failed', `the container host did not report the town's state (HTTP ${response.status})`);
    }
    const state = (await response.json().catch(() => null)) as { running?: unknown } | null;
    return state?.running === true;
  }

  private route(template: string): string {
    return routePath(template, { townId: this.options.townId });
  }

  /** One request to the host: its own routes with the deployment key, forwarded ones with `key` (the town's). */
  private async request(path: string, init: { method: string; body?: unknown }, timeoutMs: number, key = this.options.containerKey): Promise<Response> {
    const headers: Record<string, string> = { [CONTAINER_KEY_HEADER]: key };
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
      throw new GastownError(
        'container_unavailable',
        timedOut ? `the container host did not answer within ${Math.round(timeoutMs / 1000)} s` : 'the container host is unreachable',
      );
    }
  }
}
