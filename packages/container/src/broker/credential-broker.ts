/**
 * The credential broker: holds one agent's access token and refresh credential in memory,
 * keeps the token fresh (scheduled pull, reactive refresh, pushes), and hands it to the one
 * authenticated client. Scheduling math lives in ./refresh-schedule; the HTTP call in
 * ./refresh-request. Everything time- or chance-dependent comes in through BrokerOptions.
 */
import { CredentialError, GastownError, codeOf } from '@gastown/protocol';
import type { AccessTokenGrant, AgentCredentials, AgentIdentity, Clock, CredentialStatus, ErrorCode, RandomSource } from '@gastown/protocol';
import { fingerprint } from '../log/fingerprint';
import type { Logger } from '../log/logger';
import type { SecretSink } from '../log/secret-registry';
import type { Timers } from '../timers';
import { backoffDelayMs, isExpired, nextAttemptAt, planCredential, retryDelayMs } from './refresh-schedule';
import type { CredentialTimes } from './refresh-schedule';
import { requestRefresh } from './refresh-request';

export interface BrokerOptions {
  agent: AgentIdentity;
  controlPlaneUrl: string;
  initial: AgentCredentials;
  clock: Clock;
  random: RandomSource;
  timers: Timers;
  fetch: typeof fetch;
  logger: Logger;
  /** false disables scheduled pull refresh (tests prove the system fails without it). Default true. */
  scheduledRefresh?: boolean;
  /**
   * false disables the broker's own refreshes on demand: after expiry `accessToken()` throws
   * instead of refreshing, and `handleUnauthorized` does nothing. Default true. With both
   * flags false the broker only ever holds what it was given or pushed.
   */
  reactiveRefresh?: boolean;
  /** Where every token and refresh credential is registered so the logger redacts it; unregistered on stop. */
  secrets?: SecretSink;
  /** Timeout of one refresh request. Default 30 000. */
  requestTimeoutMs?: number;
}

/**
 * Holds one agent's access token and refresh credential, in memory only.
 * Refreshes at 50 % of life ± 10 % jitter; backoff 1 s → 60 s full jitter; serves the
 * still-valid token while refreshing; never past its expiry.
 */
export interface CredentialBroker {
  readonly agentId: string;
  /** A currently valid access token. Throws GastownError('credentials_expired') when none can be had. */
  accessToken(): Promise<string>;
  /** A consumer saw 401 token_expired/token_revoked with `failedToken`: single-flight refresh unless already replaced. */
  handleUnauthorized(failedToken: string): Promise<void>;
  /** Swap in pushed credentials atomically (warm send, alarm push, reissue). Ignores grants older than the one in hand or of an older gen. */
  push(grant: AccessTokenGrant, refresh?: { refreshCredential: string; refreshCredentialExpiresAt: number } | null, source?: 'push' | 'message'): void;
  status(): CredentialStatus;
  start(): void;
  /** Stop timers; forget secrets. */
  stop(): void;
}

export type BrokerFactory = (options: BrokerOptions) => CredentialBroker;

type RefreshSource = NonNullable<CredentialStatus['lastRefreshSource']>;

interface HeldToken {
  token: string;
  fingerprint: string;
  gen: number;
  /** Control-plane clock. */
  issuedAt: number;
  expiresAt: number;
  /** Local clock, derived once at receipt. */
  times: CredentialTimes;
}

interface HeldRefresh {
  credential: string;
  expiresAt: number;
}

/** How many superseded secrets stay registered for redaction (an in-flight request may still log one). */
const KEEP_SUPERSEDED_SECRETS = 2;
/** After a failed refresh, an expired-token caller does not trigger another attempt sooner than this. */
export const REACTIVE_MIN_INTERVAL_MS = 1_000;
export const DEFAULT_REFRESH_TIMEOUT_MS = 30_000;

export function createCredentialBroker(options: BrokerOptions): CredentialBroker {
  return new InMemoryCredentialBroker(options);
}

class InMemoryCredentialBroker implements CredentialBroker {
  readonly agentId: string;
  readonly #o: BrokerOptions;
  readonly #log: BrokerOptions['logger'];
  readonly #scheduled: boolean;
  readonly #reactive: boolean;
  readonly #timeoutMs: number;

  #held: HeldToken | null = null;
  #refresh: HeldRefresh | null = null;
  #inFlight: Promise<void> | null = null;
  #timer: unknown = null;
  #nextRefreshAt: number | null = null;
  /** Local time of the next retry after a failure; null when the last attempt succeeded. */
  #retryAt: number | null = null;
  #lastAttemptAt: number | null = null;
  #consecutiveFailures = 0;
  #refreshCount = 0;
  #unauthorizedCount = 0;
  #lastError: string | null = null;
  #lastRefreshAt: number | null = null;
  #lastRefreshSource: RefreshSource | null = null;
  #fatalCode: ErrorCode | null = null;
  #started = false;
  #stopped = false;
  /** Survives stop(), so status() stays answerable. */
  #lastFingerprint = '00000000';
  #lastExpiresAtLocal = 0;
  readonly #registered: { tokens: string[]; refresh: string[] } = { tokens: [], refresh: [] };

  constructor(options: BrokerOptions) {
    this.#o = options;
    this.agentId = options.agent.id;
    this.#log = options.logger.child({ component: 'broker', agentId: options.agent.id });
    this.#scheduled = options.scheduledRefresh ?? true;
    this.#reactive = options.reactiveRefresh ?? true;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS;
    const initial = options.initial;
    this.#installToken(initial, 'dispatch');
    this.#installRefresh({ credential: initial.refreshCredential, expiresAt: initial.refreshCredentialExpiresAt });
  }

  // ---- public API ------------------------------------------------------------

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#armTimer();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clearTimer();
    this.#nextRefreshAt = null;
    for (const secret of [...this.#registered.tokens, ...this.#registered.refresh]) this.#o.secrets?.remove(secret);
    this.#registered.tokens = [];
    this.#registered.refresh = [];
    this.#held = null;
    this.#refresh = null;
  }

  async accessToken(): Promise<string> {
    const fresh = this.#validToken();
    if (fresh !== null) return fresh;
    if (this.#stopped) throw new GastownError('credentials_expired', 'the agent credential broker is stopped');
    if (this.#fatalCode !== null)
      throw new GastownError('credentials_expired', `access token expired and the refresh credential was refused (${this.#fatalCode})`);
    if (!this.#reactive) throw new GastownError('credentials_expired', 'access token expired and refresh is disabled');
    const pending = this.#inFlight;
    if (pending === null && this.#recentlyFailed()) {
      throw new GastownError('credentials_expired', `access token expired; control plane unreachable (${this.#lastError ?? 'unknown'})`);
    }
    try {
      await (pending ?? this.#refreshOnce('reactive'));
    } catch (err) {
      const again = this.#validToken();
      if (again !== null) return again;
      throw new GastownError('credentials_expired', `access token expired and could not be refreshed (${codeOf(err)})`, { cause: err });
    }
    // Re-check after the shared refresh: whoever ran it may have installed a token, or not.
    const after = this.#validToken();
    if (after !== null) return after;
    throw new GastownError('credentials_expired', 'access token expired and the refresh produced no valid token');
  }

  async handleUnauthorized(failedToken: string): Promise<void> {
    this.#unauthorizedCount += 1;
    if (this.#stopped || !this.#reactive) return;
    // Only the token that failed is worth replacing; a newer one is simply retried by the caller.
    if (this.#held === null || this.#held.token !== failedToken) return;
    if (this.#fatalCode !== null) throw new CredentialError(this.#fatalCode, 'the refresh credential was refused by the control plane');
    try {
      await this.#refreshOnce('reactive');
    } catch (err) {
      // A control plane that just restarted can answer one request with a bare 503. The refresh is
      // idempotent (same pair within the grace window), so one more attempt after a short,
      // jittered pause turns that blip into a success instead of a failed tool call.
      if (!isTransient(err)) throw err;
      await new Promise<void>((resolve) => this.#o.timers.setTimeout(resolve, backoffDelayMs(0, this.#o.random)));
      if (this.#stopped || this.#held === null || this.#held.token !== failedToken) return;
      await this.#refreshOnce('reactive');
    }
  }

  push(grant: AccessTokenGrant, refresh?: { refreshCredential: string; refreshCredentialExpiresAt: number } | null, source: 'push' | 'message' = 'push'): void {
    if (this.#stopped) return;
    const accepted = this.#installToken(grant, source);
    if (!accepted) {
      this.#log.info('credential.push_ignored', {
        source,
        gen: grant.gen,
        reason: 'older than the token in hand',
        tokenFingerprint: fingerprint(grant.accessToken),
      });
      return;
    }
    if (refresh) {
      this.#installRefresh({ credential: refresh.refreshCredential, expiresAt: refresh.refreshCredentialExpiresAt });
      this.#fatalCode = null;
    }
    // A fresh token restarts the schedule: the next pull is at the new token's half-life.
    this.#consecutiveFailures = 0;
    this.#retryAt = null;
    this.#lastError = null;
    this.#log.info('credential.pushed', { source, gen: grant.gen, withRefreshCredential: Boolean(refresh), ...this.#tokenFields() });
    this.#armTimer();
  }

  status(): CredentialStatus {
    const now = this.#o.clock.now();
    const held = this.#held;
    let state: CredentialStatus['state'];
    if (this.#fatalCode !== null) state = 'revoked';
    else if (held === null || isExpired(now, held.times.expiresAtLocal)) state = 'expired';
    else if (this.#inFlight !== null) state = 'refreshing';
    else if (this.#consecutiveFailures > 0) state = 'degraded';
    else state = 'valid';
    return {
      accessTokenExpiresAt: Math.round(held?.times.expiresAtLocal ?? this.#lastExpiresAtLocal),
      tokenFingerprint: held?.fingerprint ?? this.#lastFingerprint,
      nextRefreshAt: this.#nextRefreshAt === null ? null : Math.round(this.#nextRefreshAt),
      lastRefreshAt: this.#lastRefreshAt,
      lastRefreshSource: this.#lastRefreshSource,
      refreshCount: this.#refreshCount,
      consecutiveFailures: this.#consecutiveFailures,
      unauthorizedCount: this.#unauthorizedCount,
      lastError: this.#lastError,
      state,
    };
  }

  // ---- refresh ---------------------------------------------------------------

  /** The single-flight gate: one shared in-flight refresh per broker. */
  #refreshOnce(source: 'pull' | 'reactive'): Promise<void> {
    if (this.#inFlight !== null) return this.#inFlight;
    const run = this.#runRefresh(source).finally(() => {
      this.#inFlight = null;
      this.#armTimer();
    });
    this.#inFlight = run;
    return run;
  }

  async #runRefresh(source: 'pull' | 'reactive'): Promise<void> {
    const refresh = this.#refresh;
    if (this.#stopped || refresh === null) throw new GastownError('credentials_expired', 'the agent credential broker is stopped');
    if (this.#fatalCode !== null) throw new CredentialError(this.#fatalCode, 'the refresh credential was refused by the control plane');
    this.#lastAttemptAt = this.#o.clock.now();
    const outcome = await requestRefresh({
      fetch: this.#o.fetch,
      controlPlaneUrl: this.#o.controlPlaneUrl,
      townId: this.#o.agent.townId,
      refreshCredential: refresh.credential,
      timeoutMs: this.#timeoutMs,
    });
    if (this.#stopped) throw new GastownError('credentials_expired', 'the agent credential broker is stopped');
    const stillOurs = this.#refresh?.credential === refresh.credential;

    if (outcome.kind === 'ok') {
      const creds = outcome.credentials;
      // The rotated credential replaces the one we spent, unless a push installed another meanwhile.
      if (stillOurs || creds.gen > (this.#held?.gen ?? 0)) {
        this.#installRefresh({ credential: creds.refreshCredential, expiresAt: creds.refreshCredentialExpiresAt });
      }
      const installed = this.#installToken(creds, source);
      const held = this.#held;
      if (!installed && held !== null && held.times.refreshAtLocal <= this.#o.clock.now()) {
        // The control plane answered with a token older than the one in hand, which is itself
        // due for refresh: back off instead of asking again at once.
        this.#recordFailure(source, { code: 'upstream_failed', status: 200, detail: 'refresh returned an older token' });
        return;
      }
      this.#consecutiveFailures = 0;
      this.#retryAt = null;
      this.#lastError = null;
      this.#log.info('credential.refreshed', { source, installed, ...this.#tokenFields() });
      return;
    }

    if (outcome.kind === 'fatal') {
      if (!stillOurs) {
        // A push replaced the refresh credential while this one was out: its verdict is stale.
        throw new CredentialError(outcome.code, 'the superseded refresh credential was refused');
      }
      this.#fatalCode = outcome.code;
      this.#lastError = outcome.code;
      this.#retryAt = null;
      this.#log.error('credential.revoked', {
        code: outcome.code,
        status: outcome.status,
        hint: 'the control plane refused the refresh credential; the agent needs a re-dispatch or a credential reissue',
        ...this.#tokenFields(),
      });
      throw new CredentialError(outcome.code, 'the refresh credential was refused by the control plane');
    }

    this.#recordFailure(source, outcome);
    throw new GastownError(outcome.code, `refresh failed (${outcome.detail})`);
  }

  #recordFailure(source: 'pull' | 'reactive', outcome: { code: ErrorCode; status: number | null; detail: string }): void {
    const now = this.#o.clock.now();
    const attempt = this.#consecutiveFailures;
    this.#consecutiveFailures += 1;
    this.#lastError = outcome.code;
    const held = this.#held;
    this.#retryAt = now + retryDelayMs(attempt, held === null ? 0 : held.times.expiresAtLocal - now, this.#o.random);
    this.#log.warn('credential.refresh_failed', {
      source,
      code: outcome.code,
      status: outcome.status,
      detail: outcome.detail,
      consecutiveFailures: this.#consecutiveFailures,
      retryInMs: this.#retryAt - now,
      servingStale: held !== null && !isExpired(now, held.times.expiresAtLocal),
      expiresInMs: held === null ? null : Math.round(held.times.expiresAtLocal - now),
    });
  }

  // ---- state -------------------------------------------------------------------

  #validToken(): string | null {
    const held = this.#held;
    if (held === null || this.#stopped) return null;
    return isExpired(this.#o.clock.now(), held.times.expiresAtLocal) ? null : held.token;
  }

  #recentlyFailed(): boolean {
    return this.#consecutiveFailures > 0 && this.#lastAttemptAt !== null && this.#o.clock.now() - this.#lastAttemptAt < REACTIVE_MIN_INTERVAL_MS;
  }

  /** Atomically swap in a token unless it is older (gen or issuedAt) than the one in hand. */
  #installToken(grant: AccessTokenGrant, source: RefreshSource): boolean {
    const held = this.#held;
    if (held !== null) {
      if (grant.gen < held.gen || grant.accessTokenIssuedAt < held.issuedAt) return false;
      if (grant.accessToken === held.token) return false;
    }
    const now = this.#o.clock.now();
    this.#held = {
      token: grant.accessToken,
      fingerprint: fingerprint(grant.accessToken),
      gen: grant.gen,
      issuedAt: grant.accessTokenIssuedAt,
      expiresAt: grant.accessTokenExpiresAt,
      times: planCredential(now, grant.accessTokenIssuedAt, grant.accessTokenExpiresAt, this.#o.random),
    };
    this.#lastFingerprint = this.#held.fingerprint;
    this.#lastExpiresAtLocal = this.#held.times.expiresAtLocal;
    this.#register('tokens', grant.accessToken);
    this.#lastRefreshAt = now;
    this.#lastRefreshSource = source;
    if (source !== 'dispatch') this.#refreshCount += 1;
    return true;
  }

  #installRefresh(refresh: HeldRefresh): void {
    this.#refresh = refresh;
    this.#register('refresh', refresh.credential);
  }

  #register(kind: 'tokens' | 'refresh', secret: string): void {
    const list = this.#registered[kind];
    if (list.includes(secret)) return;
    this.#o.secrets?.add(secret);
    list.push(secret);
    while (list.length > KEEP_SUPERSEDED_SECRETS + 1) {
      const old = list.shift();
      if (old !== undefined) this.#o.secrets?.remove(old);
    }
  }

  #tokenFields(): Record<string, unknown> {
    const held = this.#held;
    if (held === null) return {};
    return { tokenFingerprint: held.fingerprint, gen: held.gen, expiresAtLocal: Math.round(held.times.expiresAtLocal), skewMs: held.times.skewMs };
  }

  // ---- timer -------------------------------------------------------------------

  #armTimer(): void {
    this.#clearTimer();
    const held = this.#held;
    if (!this.#started || this.#stopped || !this.#scheduled || this.#fatalCode !== null || held === null || this.#refresh === null) {
      this.#nextRefreshAt = null;
      return;
    }
    if (this.#inFlight !== null) return; // re-armed when it settles
    const now = this.#o.clock.now();
    const at = nextAttemptAt(now, this.#retryAt ?? held.times.refreshAtLocal, held.times.expiresAtLocal);
    this.#nextRefreshAt = at;
    this.#timer = this.#o.timers.setTimeout(() => this.#onTimer(), at - now);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Returns the refresh promise (settled, never rejecting) so a manual timer driver can await it. */
  #onTimer(): Promise<void> {
    this.#timer = null;
    this.#nextRefreshAt = null;
    return this.#refreshOnce('pull').catch(() => undefined);
  }
}

/** A failure a second attempt may fix: the control plane was unreachable or answered badly. */
function isTransient(err: unknown): boolean {
  return err instanceof GastownError && !(err instanceof CredentialError) && (err.code === 'control_plane_unavailable' || err.code === 'upstream_failed');
}
