/**
 * A fake `ctx.container` (the Cloudflare Containers runtime API that @cloudflare/containers 0.3.7
 * drives: `running`, `start`, `monitor`, `getTcpPort().fetch`, `signal`, `destroy`) whose `start`
 * "boots" an in-process stand-in for the container's control server with exactly the env the DO
 * handed over. The stand-in checks the container key the way the real server does (the boot env's
 * GASTOWN_CONTAINER_KEY against the request header) and answers CONTAINER_API routes as scripted.
 * Time is the global clock: a test's fake timers drive boots, drains and hangs.
 */
import { CONTAINER_KEY_HEADER } from '@gastown/protocol';
import { runtimeStatus } from '../../support/fake-container';

export interface FakeContainerBehaviour {
  /** ms from start() until the control server listens (a cold start). */
  bootMs: number;
  /** Thrown by start(), as the runtime does (e.g. "there is no container instance …"). */
  startError: string | null;
  /** ms a SIGTERM takes to drain; null: SIGTERM is ignored (only SIGKILL ends it). */
  drainMs: number | null;
  /** Requests to these paths never answer (a hung clone, a stuck runtime). */
  hangPaths: string[];
  /** Thrown by getTcpPort().fetch for app requests (e.g. "Network connection lost."). */
  fetchError: string | null;
  /** Scripted answers by path; else POST /agents answers a running status, anything else 404 JSON. */
  answers: Record<string, () => Response>;
}

export interface Boot {
  env: Record<string, string>;
  startedAt: number;
}

export class FakeContainerRuntime {
  running = false;
  readonly boots: Boot[] = [];
  readonly signals: number[] = [];
  readonly requests: { path: string; method: string; key: string | null; body: unknown }[] = [];
  destroyed = 0;
  behaviour: FakeContainerBehaviour = { bootMs: 2_000, startError: null, drainMs: 1_000, hangPaths: [], fetchError: null, answers: {} };
  private listeningAt = 0;
  private exit: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private exited: Promise<void> = Promise.resolve();

  start(options?: { env?: Record<string, string> }): void {
    if (this.behaviour.startError) throw new Error(this.behaviour.startError);
    if (this.running) throw new Error('start() cannot be called on a container that is already running.');
    this.running = true;
    this.boots.push({ env: { ...(options?.env ?? {}) }, startedAt: Date.now() });
    this.listeningAt = Date.now() + this.behaviour.bootMs;
    this.exited = new Promise<void>((resolve, reject) => (this.exit = { resolve, reject }));
    this.exited.catch(() => undefined);
  }

  monitor(): Promise<void> {
    return this.exited;
  }

  signal(signo: number): void {
    this.signals.push(signo);
    if (!this.running) return;
    if (signo === 9) return this.end(new Error('Runtime signalled the container to exit: 9'));
    if (this.behaviour.drainMs !== null) setTimeout(() => this.end(null), this.behaviour.drainMs);
  }

  async destroy(): Promise<void> {
    this.destroyed++;
    if (this.running) this.end(new Error('Runtime signalled the container to exit: 9'));
  }

  /** The process dies on its own (a crash). */
  crash(exitCode = 1): void {
    this.end(new Error(`Container exited with unexpected exit code: ${exitCode}`));
  }

  getTcpPort(_port: number): { fetch: (input: string, init?: RequestInit | Request) => Promise<Response> } {
    return { fetch: (input, init) => this.fetch(input, init) };
  }

  // outbound interception is not used by TownContainerDO
  async interceptOutboundHttp(): Promise<void> {}
  async interceptAllOutboundHttp(): Promise<void> {}
  async interceptOutboundHttps(): Promise<void> {}

  get bootEnv(): Record<string, string> {
    return this.boots.at(-1)?.env ?? {};
  }

  private end(error: Error | null): void {
    if (!this.running) return;
    this.running = false;
    const exit = this.exit;
    this.exit = null;
    if (error) exit?.reject(error);
    else exit?.resolve();
  }

  private async fetch(input: string, init?: RequestInit | Request): Promise<Response> {
    if (!this.running) throw new Error('the container is not running');
    if (Date.now() < this.listeningAt) throw new Error('connect(): Connection refused: the container is not listening');
    const url = new URL(input);
    // the library's readiness probes (http://ping, http://containerstarthealthcheck): any answer means "listening"
    if (url.hostname !== 'container') return new Response('ok');
    if (this.behaviour.fetchError) throw new Error(this.behaviour.fetchError);
    const request = new Request(input, init);
    const text = request.body ? await request.text() : '';
    this.requests.push({
      path: url.pathname,
      method: request.method,
      key: request.headers.get(CONTAINER_KEY_HEADER),
      body: text ? (JSON.parse(text) as unknown) : undefined,
    });
    if (this.behaviour.hangPaths.includes(url.pathname)) return new Promise<Response>(() => undefined);
    const key = this.bootEnv.GASTOWN_CONTAINER_KEY;
    if (!key || request.headers.get(CONTAINER_KEY_HEADER) !== key)
      return Response.json({ error: { code: 'container_unauthorized', message: 'bad container key' } }, { status: 401 });
    const scripted = this.behaviour.answers[url.pathname];
    if (scripted) return scripted();
    if (request.method === 'POST' && url.pathname === '/agents') {
      const agent = (JSON.parse(text) as { agent: { id: string; role: 'mayor' | 'polecat' | 'refinery'; gen: number } }).agent;
      return Response.json(runtimeStatus(agent.id, agent.role, agent.gen, 'working'));
    }
    return Response.json({ error: { code: 'not_found', message: 'no such agent' } }, { status: 404 });
  }
}
