/**
 * A proxy between the town containers and the control plane for the usage e2e tests (the
 * worker's GASTOWN_PUBLIC_URL points here): it can cut one town off (every request of that town
 * gets its connection reset, as in the fault suite's `refuse` mode) and lose the answer to an
 * event batch (the batch is forwarded and stored, then the client's socket is reset instead of
 * answering) — so the container retries a batch the control plane already holds.
 *
 * It records every event batch it saw (town, time, what it did, how many `model.usage` events
 * it carried), never a header: bodies of event batches are redacted by the container already.
 * Test-only.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { MODEL_USAGE_EVENT } from '@gastown/protocol';
import { answerUpstreamUnreachable, listenOnLoopback } from '../../src/stack/loopback-proxy-server';

/** `/agent/towns/:townId/agents/:agentId/events` */
const EVENTS_PATH = /^\/agent\/towns\/([^/]+)\/agents\/[^/]+\/events$/;
/** The town of an agent API request (`/agent/towns/:id/…`). */
const TOWN_PATH = /^\/agent\/towns\/([^/]+)(?:\/|$)/;

export interface EventBatchRecord {
  townId: string;
  at: number;
  action: 'forwarded' | 'refused' | 'lost';
  /** Upstream status (0 when refused). */
  status: number;
  /** `model.usage` events in the batch, by id. */
  usageEventIds: string[];
}

export interface ControlPlaneProxy {
  readonly url: string;
  /** Cut (true) or restore (false) one town's container → control plane requests. */
  cut(townId: string, on: boolean): void;
  /** Requests of cut towns that were refused, per town. */
  refusedCount(townId: string): number;
  /**
   * Forward the next event batch of `townId` that carries at least one `model.usage` event, then
   * reset the client's socket instead of answering. Resolves with its record once it happened.
   */
  loseNextUsageBatchAnswer(townId: string): Promise<EventBatchRecord>;
  readonly eventBatches: readonly EventBatchRecord[];
  stop(): Promise<void>;
}

function usageEventIdsOf(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { events?: Array<{ id?: unknown; type?: unknown }> };
    return (parsed.events ?? []).filter((e) => e.type === MODEL_USAGE_EVENT && typeof e.id === 'string').map((e) => e.id as string);
  } catch {
    return [];
  }
}

export async function startControlPlaneProxy(options: { target: string }): Promise<ControlPlaneProxy> {
  const target = new URL(options.target);
  const cutTowns = new Set<string>();
  const refused = new Map<string, number>();
  const eventBatches: EventBatchRecord[] = [];
  /** Per town: resolve with the record of the batch whose answer was lost. */
  const loseNext = new Map<string, (record: EventBatchRecord) => void>();

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer | null, onAnswer?: (status: number) => void, lose = false) => {
    const headers = { ...req.headers, host: target.host, ...(body ? { 'content-length': String(body.length) } : {}) };
    const upstream = httpRequest({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
      onAnswer?.(up.statusCode ?? 0);
      if (lose) {
        // the control plane has stored the batch: read its answer fully, then lose it
        up.resume();
        up.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => answerUpstreamUnreachable(res, 'control-plane proxy'));
    if (body) upstream.end(body);
    else req.pipe(upstream);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const events = req.method === 'POST' ? EVENTS_PATH.exec(path) : null;
    const townId = events?.[1] ?? TOWN_PATH.exec(path)?.[1] ?? '';
    if (!events) {
      if (cutTowns.has(townId)) {
        refused.set(townId, (refused.get(townId) ?? 0) + 1);
        req.resume();
        req.socket.destroy();
        return;
      }
      forward(req, res, null);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => req.socket.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const record: EventBatchRecord = { townId, at: Date.now(), action: 'forwarded', status: 0, usageEventIds: usageEventIdsOf(body) };
      eventBatches.push(record);
      if (cutTowns.has(townId)) {
        record.action = 'refused';
        refused.set(townId, (refused.get(townId) ?? 0) + 1);
        req.socket.destroy();
        return;
      }
      const lose = record.usageEventIds.length > 0 ? (loseNext.get(townId) ?? null) : null;
      if (lose) {
        loseNext.delete(townId);
        record.action = 'lost';
      }
      forward(
        req,
        res,
        body,
        (status) => {
          record.status = status;
          lose?.(record);
        },
        lose !== null,
      );
    });
  };

  const { server, port } = await listenOnLoopback(handle);

  return {
    url: `http://127.0.0.1:${port}`,
    cut(townId, on) {
      if (on) cutTowns.add(townId);
      else cutTowns.delete(townId);
    },
    refusedCount: (townId) => refused.get(townId) ?? 0,
    loseNextUsageBatchAnswer(townId) {
      return new Promise<EventBatchRecord>((resolve) => {
        loseNext.set(townId, resolve);
      });
    },
    eventBatches,
    stop() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
