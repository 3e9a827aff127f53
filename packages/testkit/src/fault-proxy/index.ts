/**
 * A fault-injecting HTTP proxy between a town container and the control plane. The worker's
 * GASTOWN_PUBLIC_URL points here, so every outbound call of the container (refresh, heartbeat,
 * tools, events, completion, merge results) passes through it.
 *
 * Modes:
 * - `pass`: forward everything;
 * - `refuse`: answer nothing — destroy the client socket (connection reset), or 503 if
 *   `refuseWith: 503`;
 * - `dropNextRefreshResponse()`: forward the next refresh request (the control plane commits
 *   the rotation), then destroy the client socket instead of answering;
 * - `capture`: remember the Authorization header of every refresh call, in memory only (never
 *   logged, never written), so a test can replay a refresh credential.
 *
 * A second instance can sit between the worker and the container host (GASTOWN_CONTAINER_HOST_URL)
 * to cut the inbound direction too (backstop pushes, warm sends): a full partition.
 *
 * Test-only; no secret is ever logged.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { answerUpstreamUnreachable, listenOnLoopback } from '../stack/loopback-proxy-server';

export type FaultMode = 'pass' | 'refuse';

export interface FaultProxyCounts {
  forwarded: number;
  refused: number;
  refreshForwarded: number;
  refreshDropped: number;
  refreshRefused: number;
}

export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  mode: FaultMode;
  /** How `refuse` fails a request: `reset` (destroy the socket) or `503`. Default `reset`. */
  refuseWith: 'reset' | 503;
  /** Forward the next refresh request, then destroy the client socket. Resolves when it has happened. */
  dropNextRefreshResponse(filter?: (townId: string) => boolean): Promise<void>;
  /** Start/stop recording refresh Authorization headers (in memory). */
  capture(on: boolean): void;
  /** Recorded refresh Authorization headers, oldest first, with the town and time. */
  readonly captured: ReadonlyArray<{ townId: string; authorization: string; at: number }>;
  readonly counts: FaultProxyCounts;
  /** Limit faults (refuse, drop, capture) to these towns; null: every town. */
  faultTowns: ReadonlySet<string> | null;
  /** Every refresh request seen (no secret): town, time, and what the proxy did with it. */
  readonly refreshes: ReadonlyArray<{ townId: string; at: number; action: 'forwarded' | 'dropped' | 'refused' }>;
  /** Change the upstream (e.g. after a worker restart on another port). */
  setTarget(url: string): void;
  stop(): Promise<void>;
}

const REFRESH_PATH = /^\/agent\/towns\/([^/]+)\/refresh$/;
/** The town of a request: agent API (`/agent/towns/:id/…`) or container host (`/towns/:id/…`). */
const TOWN_PATH = /^(?:\/agent)?\/towns\/([^/]+)(?:\/|$)/;

export async function startFaultProxy(options: { target: string; port?: number }): Promise<FaultProxy> {
  let target = new URL(options.target);
  const counts: FaultProxyCounts = { forwarded: 0, refused: 0, refreshForwarded: 0, refreshDropped: 0, refreshRefused: 0 };
  const captured: Array<{ townId: string; authorization: string; at: number }> = [];
  let capturing = false;
  let dropNext: { filter: (townId: string) => boolean; done: () => void } | null = null;

  const state = { mode: 'pass' as FaultMode, refuseWith: 'reset' as 'reset' | 503, faultTowns: null as ReadonlySet<string> | null };
  const refreshes: Array<{ townId: string; at: number; action: 'forwarded' | 'dropped' | 'refused' }> = [];

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const refresh = REFRESH_PATH.exec(path);
    const townId = refresh?.[1] ?? TOWN_PATH.exec(path)?.[1] ?? '';
    const faulty = state.faultTowns === null || state.faultTowns.has(townId);
    if (state.mode === 'refuse' && faulty) {
      counts.refused += 1;
      if (refresh) {
        counts.refreshRefused += 1;
        refreshes.push({ townId, at: Date.now(), action: 'refused' });
      }
      req.resume();
      if (state.refuseWith === 503) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'control_plane_unavailable', message: 'fault proxy: refused' } }));
      } else {
        req.socket.destroy();
      }
      return;
    }
    if (refresh && capturing && faulty && typeof req.headers.authorization === 'string') {
      captured.push({ townId, authorization: req.headers.authorization, at: Date.now() });
    }
    let drop: (() => void) | null = null;
    if (refresh && faulty && dropNext && dropNext.filter(townId)) {
      drop = dropNext.done;
      dropNext = null;
    }
    counts.forwarded += 1;
    if (refresh) {
      counts.refreshForwarded += 1;
      refreshes.push({ townId, at: Date.now(), action: drop ? 'dropped' : 'forwarded' });
    }
    const headers = { ...req.headers, host: target.host };
    const upstream = httpRequest({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
      if (drop) {
        // the control plane has committed the rotation: read its answer fully, then lose it
        up.resume();
        up.on('end', () => {
          counts.refreshDropped += 1;
          req.socket.destroy();
          drop!();
        });
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => answerUpstreamUnreachable(res, 'fault proxy'));
    req.pipe(upstream);
  };

  const { server, port } = await listenOnLoopback(handle, options.port ?? 0);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get mode() {
      return state.mode;
    },
    set mode(m: FaultMode) {
      state.mode = m;
    },
    get refuseWith() {
      return state.refuseWith;
    },
    set refuseWith(r: 'reset' | 503) {
      state.refuseWith = r;
    },
    dropNextRefreshResponse(filter = () => true) {
      return new Promise<void>((resolve) => {
        dropNext = { filter, done: resolve };
      });
    },
    capture(on) {
      capturing = on;
    },
    get faultTowns() {
      return state.faultTowns;
    },
    set faultTowns(towns: ReadonlySet<string> | null) {
      state.faultTowns = towns;
    },
    captured,
    refreshes,
    counts,
    setTarget(url) {
      target = new URL(url);
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
