/**
 * A pass-through proxy between the town containers and the control plane (the worker's
 * GASTOWN_PUBLIC_URL points here) that keeps, in memory, the agent credentials it sees on the
 * wire: every access token a broker presents on the agent API, and every set of credentials a
 * refresh hands out (access token + the next refresh credential). The delete-town test replays
 * them after the town is gone. Test-only: nothing it keeps is ever logged or written anywhere.
 *
 * Its target is set once the worker's URL is known (the proxy must exist before the stack starts,
 * the containers learn its URL from the worker's vars).
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { AgentClaimsSchema, AgentCredentialsSchema, type AgentCredentials } from '@gastown/protocol';
import { answerUpstreamUnreachable, listenOnLoopback } from '../../src/stack/loopback-proxy-server';

/** `/agent/towns/:townId/agents/:agentId/…` */
const AGENT_PATH = /^\/agent\/towns\/[^/]+\/agents\/([^/]+)\//;
/** `/agent/towns/:townId/refresh` */
const REFRESH_PATH = /^\/agent\/towns\/[^/]+\/refresh$/;

export interface IssuedCredentials {
  agentId: string;
  credentials: AgentCredentials;
}

export interface CredentialTap {
  readonly url: string;
  /** Where requests go (the worker), set once it is known. */
  setTarget(url: string): void;
  /** Distinct access tokens an agent's broker presented, oldest first. */
  accessTokensOf(agentId: string): string[];
  /** Requests forwarded so far. */
  readonly requests: number;
  /** Credentials handed out by successful refreshes, oldest first. */
  readonly issued: readonly IssuedCredentials[];
  stop(): Promise<void>;
}

/** The agent an access token was minted for (its `sub`), read without verifying the signature. */
export function agentIdOfToken(token: string): string | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims = AgentClaimsSchema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    return claims.success ? claims.data.sub : null;
  } catch {
    return null;
  }
}

function bearerOf(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : null;
}

export async function startCredentialTap(): Promise<CredentialTap> {
  let target: URL | null = null;
  const tokens = new Map<string, string[]>();
  const issued: IssuedCredentials[] = [];
  let requests = 0;

  const remember = (agentId: string, token: string) => {
    const seen = tokens.get(agentId) ?? [];
    if (!seen.includes(token)) seen.push(token);
    tokens.set(agentId, seen);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const agentId = AGENT_PATH.exec(path)?.[1] ?? null;
    const bearer = bearerOf(req);
    if (agentId && bearer) remember(agentId, bearer);
    const isRefresh = req.method === 'POST' && REFRESH_PATH.test(path);
    if (!target) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'control_plane_unavailable', message: 'credential tap: no target yet' } }));
      return;
    }
    requests += 1;
    // uncompressed answers, so a refresh's credentials can be read on the way back
    const headers = { ...req.headers, host: target.host };
    delete headers['accept-encoding'];
    const upstream = httpRequest({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!isRefresh || up.statusCode !== 200) {
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        res.write(chunk);
      });
      up.on('end', () => {
        res.end();
        try {
          const credentials = AgentCredentialsSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          const owner = credentials.success ? agentIdOfToken(credentials.data.accessToken) : null;
          if (credentials.success && owner) {
            issued.push({ agentId: owner, credentials: credentials.data });
            remember(owner, credentials.data.accessToken);
          }
        } catch {
          // not JSON: nothing to keep
        }
      });
    });
    upstream.on('error', () => answerUpstreamUnreachable(res, 'credential tap'));
    req.pipe(upstream);
  };

  const { server, port } = await listenOnLoopback(handle);

  return {
    url: `http://127.0.0.1:${port}`,
    setTarget(url) {
      target = new URL(url);
    },
    accessTokensOf: (agentId) => [...(tokens.get(agentId) ?? [])],
    issued,
    get requests() {
      return requests;
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
