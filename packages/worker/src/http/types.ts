import type { AgentClaims, Clock } from '@gastown/protocol';
import type { AuthConfig, VerifiedTokenCache } from '../auth';
import type { SnapshotStore } from '../sessions/snapshot-store';
import type { Logger } from '../town/rpc-result';
import type { IdFactory } from '../town/ids';
import type { TownDirectory } from './directory';

/** What the Hono app needs, built once per isolate from the env. */
export interface AppDeps {
  auth: AuthConfig;
  clock: Clock;
  /**
   * Verified agent tokens, so a token is not verified again on each request (auth/verified-token-cache.ts).
   * Absent: createApp makes one with `clock` — one per app, i.e. per env per isolate.
   */
  verifiedTokens?: VerifiedTokenCache;
  ids: IdFactory;
  logger: Logger;
  directory: TownDirectory;
  /** Session snapshot bytes (R2 binding SESSIONS); the TownDO records which object is current. */
  sessions: SnapshotStore;
  /** Poll interval of the SSE event stream, ms. */
  eventStreamPollMs: number;
  /** How long one SSE connection stays open before the client reconnects, ms. */
  eventStreamMaxMs: number;
  /** SSE connections one user may hold open at once (all towns); past it, 429 rate_limited. */
  eventStreamMaxPerUser: number;
}

export type AppEnv = {
  Bindings: Env;
  Variables: {
    userId: string;
    agentClaims: AgentClaims;
  };
};
