/**
 * The git credential broker of one rig: holds the rig's short-lived git token (a GitTokenGrant the
 * control plane minted) in memory and keeps it fresh, for the container's own git runner only
 * (./rig-git-auth.ts, through the credential helper's socket, ./credential-server.ts).
 *
 * - Fed at every start of a polecat or refinery of the rig (StartAgentRequest.gitToken: `offer`).
 * - Pulled again at half its life through a LIVE run of the rig (`attach`: any polecat or refinery
 *   whose control-plane client can ask `POST AGENT_API.gitToken`). With no run attached nothing
 *   runs git for the rig (a branch push or a merge happens while its run is still attached), so
 *   nothing is pulled and no timer keeps the container busy.
 * - Refreshed reactively when git reports that the host refused it (`reject`): single-flight; the
 *   caller retries its command once.
 * - Past its expiry with no fresh token: `credential()` throws GastownError('git_auth_failed') and
 *   ONE `git.credentials_expired` event goes out through a live run's event sink per outage (not
 *   per command); `git.credentials_recovered` when a token is had again.
 *
 * The token never leaves this object except as the answer to git's credential request; logs and
 * events carry its fingerprint. Time, chance and timers are injected.
 */
import { GastownError, codeOf, type Clock, type GitTokenGrant, type RandomSource } from '@gastown/protocol';
import { nextAttemptAt } from '../broker/refresh-schedule';
import { gitRetryDelayMs } from './git-token-schedule';
import { fingerprint } from '../log/fingerprint';
import type { Logger } from '../log/logger';
import type { SecretSink } from '../log/secret-registry';
import type { Timers } from '../timers';
import { isCredentialValue, isUsable, planGitToken, type GitTokenTimes } from './git-token-schedule';

/** A live run of the rig, through which the broker reaches the control plane and the town's event stream. */
export interface GitTokenSource {
  /** The run's agent (for logs). */
  readonly agentId: string;
  /** A fresh grant for the rig, through the run's authenticated client (`POST AGENT_API.gitToken`). */
  gitToken(rigId: string): Promise<GitTokenGrant>;
  /** Record an event on the run's event stream. */
  emit(type: string, data: Record<string, unknown>): void;
}

/** What git is given: the user name and token of the grant in hand. */
export interface GitCredential {
  username: string;
  password: string;
  /** First 8 hex of the token's SHA-256 (for logs). */
  fingerprint: string;
}

export interface GitTokenBrokerStatus {
  rigId: string;
  state: 'none' | 'valid' | 'refreshing' | 'degraded' | 'rejected' | 'expired';
  tokenFingerprint: string | null;
  expiresAt: number | null;
  nextRefreshAt: number | null;
  /** Grants installed after the first (pulls and later offers). */
  refreshCount: number;
  consecutiveFailures: number;
  lastError: string | null;
  /** Live runs attached. */
  sources: number;
}

export interface GitTokenBrokerOptions {
  rigId: string;
  clock: Clock;
  random: RandomSource;
  timers: Timers;
  logger: Logger;
  /** Every token is registered here (the logger, events and status messages redact it) and removed when superseded. */
  secrets?: SecretSink;
  /**
   * TEST ONLY — false: the broker never asks for a token (no half-life pull, no reactive refresh);
   * it serves what dispatches offered until it expires. Proves that the tests of a long-running
   * private rig fail without the refresh. Default true.
   */
  refresh?: boolean;
}

export const GIT_CREDENTIALS_EXPIRED_EVENT = 'git.credentials_expired';
export const GIT_CREDENTIALS_RECOVERED_EVENT = 'git.credentials_recovered';
/** After a failed pull, a git command does not start another one sooner than this. */
export const GIT_TOKEN_MIN_RETRY_MS = 1_000;
/** Superseded tokens kept registered for redaction (a command in flight may still print one). */
const KEEP_SUPERSEDED_SECRETS = 2;

interface HeldGitToken {
  grant: GitTokenGrant;
  fingerprint: string;
  times: GitTokenTimes;
  /** The git host refused it: never handed out again. */
  rejected: boolean;
}

type Trigger = 'scheduled' | 'reactive';

export class GitTokenBroker {
  readonly rigId: string;
  readonly #o: GitTokenBrokerOptions;
  readonly #log: Logger;
  readonly #refresh: boolean;
  /** The rig's git URL, as the last RigRef seen said (the credential server answers only for it). */
  #gitUrl: string | null = null;
  #held: HeldGitToken | null = null;
  #sources: GitTokenSource[] = [];
  #inFlight: Promise<void> | null = null;
  #timer: unknown = null;
  #nextRefreshAt: number | null = null;
  #retryAt: number | null = null;
  #lastAttemptAt: number | null = null;
  #consecutiveFailures = 0;
  #lastError: string | null = null;
  #refreshCount = 0;
  /** A `git.credentials_expired` went out and no token has been had since. */
  #outage = false;
  #stopped = false;
  #registered: string[] = [];

  constructor(options: GitTokenBrokerOptions) {
    this.rigId = options.rigId;
    this.#o = options;
    this.#refresh = options.refresh ?? true;
    this.#log = options.logger.child({ component: 'git-token-broker', rigId: options.rigId });
  }

  get gitUrl(): string | null {
    return this.#gitUrl;
  }
  /** The rig's git URL (from the RigRef of the run or command at hand). */
  bindUrl(gitUrl: string): void {
    this.#gitUrl = gitUrl;
  }

  // ---- feeding ---------------------------------------------------------------------

  /**
   * A grant that came with a dispatch. Installed unless it is the token in hand or expires before
   * the (still usable) one in hand. Returns whether it was installed.
   */
  offer(grant: GitTokenGrant): boolean {
    if (this.#stopped) return false;
    if (grant.rigId !== this.rigId || !isCredentialValue(grant.token) || !isCredentialValue(grant.username)) {
      this.#log.warn('git.token_offer_refused', { reason: grant.rigId !== this.rigId ? 'another rig' : 'not a printable credential' });
      return false;
    }
    const held = this.#held;
    if (held !== null) {
      if (held.grant.token === grant.token) return false;
      const heldLivesLonger = held.grant.expiresAt !== null && grant.expiresAt !== null && grant.expiresAt < held.grant.expiresAt;
      if (heldLivesLonger && this.#usable() !== null) return false;
    }
    this.#install(grant);
    this.#succeeded();
    this.#log.info('git.token_received', this.#tokenFields());
    this.#arm();
    return true;
  }

  /** A live run of the rig; returns its detach (call it when the run's client stops). */
  attach(source: GitTokenSource): () => void {
    this.#sources.push(source);
    this.#arm();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.#sources = this.#sources.filter((s) => s !== source);
      this.#arm();
    };
  }

  // ---- serving ---------------------------------------------------------------------

  /**
   * The credential for git: the token in hand while it is usable, else a fresh one (one shared pull).
   * Throws GastownError('git_auth_failed') when none can be had (and reports the outage once).
   */
  async credential(): Promise<GitCredential> {
    const ready = this.#usable();
    if (ready !== null) return ready;
    if (this.#stopped) throw new GastownError('git_auth_failed', `the git credential broker of rig ${this.rigId} is stopped`);
    if (this.#refresh) {
      const pending = this.#inFlight;
      if (pending !== null || !this.#recentlyFailed()) {
        try {
          await (pending ?? this.#pull('reactive'));
        } catch {
          // judged below: whoever ran the pull may still have installed a token
        }
        const after = this.#usable();
        if (after !== null) return after;
      }
    }
    this.#noteUnavailable();
    throw this.#unavailableError();
  }

  /**
   * Git says the host refused `token` (an `erase` from the credential helper, or an auth failure of
   * a command). Marks it bad when it is still the token in hand and waits for the shared refresh.
   * Never throws: the caller's retry asks `credential()` again.
   */
  async reject(token: string): Promise<void> {
    const held = this.#held;
    if (held !== null && held.grant.token === token && !held.rejected) {
      held.rejected = true;
      this.#log.warn('git.token_rejected', { tokenFingerprint: held.fingerprint, action: this.#refresh ? 'refresh' : 'none (refresh is off)' });
      this.#arm();
    }
    if (!this.#refresh || this.#stopped || this.#usable() !== null) return;
    await this.credential().catch(() => undefined);
  }

  status(): GitTokenBrokerStatus {
    const held = this.#held;
    const now = this.#o.clock.now();
    let state: GitTokenBrokerStatus['state'];
    if (held === null) state = 'none';
    else if (held.rejected) state = 'rejected';
    else if (!isUsable(now, held.times)) state = 'expired';
    else if (this.#inFlight !== null) state = 'refreshing';
    else if (this.#consecutiveFailures > 0) state = 'degraded';
    else state = 'valid';
    return {
      rigId: this.rigId,
      state,
      tokenFingerprint: held?.fingerprint ?? null,
      expiresAt: held?.grant.expiresAt ?? null,
      nextRefreshAt: this.#nextRefreshAt,
      refreshCount: this.#refreshCount,
      consecutiveFailures: this.#consecutiveFailures,
      lastError: this.#lastError,
      sources: this.#sources.length,
    };
  }

  /** Forget the token (unregistering it) and stop the timer. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clearTimer();
    this.#nextRefreshAt = null;
    for (const secret of this.#registered) this.#o.secrets?.remove(secret);
    this.#registered = [];
    this.#held = null;
    this.#sources = [];
  }

  // ---- pulling ---------------------------------------------------------------------

  /** The single-flight gate: one shared pull per rig. */
  #pull(trigger: Trigger): Promise<void> {
    if (this.#inFlight !== null) return this.#inFlight;
    const run = this.#runPull(trigger).finally(() => {
      this.#inFlight = null;
      this.#arm();
    });
    this.#inFlight = run;
    return run;
  }

  async #runPull(trigger: Trigger): Promise<void> {
    // the newest run: the one most likely to live on
    const source = this.#sources[this.#sources.length - 1];
    if (source === undefined) {
      const error = new GastownError('git_auth_failed', `no live agent of rig ${this.rigId} can ask the control plane for a git token`);
      this.#failed(trigger, error);
      throw error;
    }
    this.#lastAttemptAt = this.#o.clock.now();
    let grant: GitTokenGrant;
    try {
      grant = await source.gitToken(this.rigId);
      if (grant.rigId !== this.rigId) throw new GastownError('upstream_failed', 'the control plane sent a git token of another rig');
      if (!isCredentialValue(grant.token) || !isCredentialValue(grant.username)) {
        throw new GastownError('upstream_failed', 'the control plane sent a git token git cannot carry');
      }
    } catch (error) {
      if (!this.#stopped) this.#failed(trigger, error);
      throw error;
    }
    if (this.#stopped) throw new GastownError('git_auth_failed', `the git credential broker of rig ${this.rigId} is stopped`);
    this.#install(grant);
    this.#succeeded();
    this.#log.info('git.token_refreshed', { trigger, viaAgentId: source.agentId, ...this.#tokenFields() });
  }

  #failed(trigger: Trigger, error: unknown): void {
    const now = this.#o.clock.now();
    const attempt = this.#consecutiveFailures;
    this.#consecutiveFailures += 1;
    this.#lastError = codeOf(error, 'internal');
    const held = this.#held;
    const remainingMs = held?.times.usableUntil == null ? 0 : held.times.usableUntil - now;
    this.#retryAt = now + gitRetryDelayMs(attempt, remainingMs, this.#o.random);
    const servingStale = this.#usable() !== null;
    this.#log.warn('git.token_refresh_failed', {
      trigger,
      code: this.#lastError,
      consecutiveFailures: this.#consecutiveFailures,
      retryInMs: this.#retryAt - now,
      servingStale,
      ...this.#tokenFields(),
    });
    if (!servingStale) this.#noteUnavailable();
  }

  /** A token is in hand again (a pull or an offer): failures forgotten, an outage over. */
  #succeeded(): void {
    this.#consecutiveFailures = 0;
    this.#retryAt = null;
    this.#lastError = null;
    if (!this.#outage) return;
    this.#outage = false;
    this.#log.info('git.credentials_recovered', this.#tokenFields());
    this.#emit(GIT_CREDENTIALS_RECOVERED_EVENT, { rigId: this.rigId, ...this.#tokenFields() });
  }

  /** No usable token: report it once per outage (the control plane turns it into one escalation). */
  #noteUnavailable(): void {
    if (this.#outage || this.#stopped) return;
    const held = this.#held;
    const reason = held === null ? 'missing' : held.rejected ? 'rejected' : 'expired';
    const data = { rigId: this.rigId, reason, lastError: this.#lastError, refresh: this.#refresh, ...this.#tokenFields() };
    // with no live run there is no event stream to tell: the next command of a live run reports it
    if (!this.#emit(GIT_CREDENTIALS_EXPIRED_EVENT, data)) {
      this.#log.warn('git.credentials_unavailable', { ...data, reported: false });
      return;
    }
    this.#outage = true;
    this.#log.error('git.credentials_expired', data);
  }

  /** Emit through the newest live run; false when none is attached. */
  #emit(type: string, data: Record<string, unknown>): boolean {
    const source = this.#sources[this.#sources.length - 1];
    if (source === undefined) return false;
    try {
      source.emit(type, data);
    } catch (error) {
      this.#log.warn('git.event_failed', { type, code: codeOf(error, 'internal') });
    }
    return true;
  }

  #unavailableError(): GastownError {
    const held = this.#held;
    const cause = this.#lastError !== null ? ` (${this.#lastError})` : this.#refresh ? '' : ' (refresh is off)';
    if (held === null) return new GastownError('git_auth_failed', `rig ${this.rigId} has no git token and none could be had${cause}`);
    const which = `rig ${this.rigId}'s git token sha256:${held.fingerprint}`;
    if (held.rejected) return new GastownError('git_auth_failed', `the git host refused ${which} and no fresh token could be had${cause}`);
    const at = held.grant.expiresAt === null ? '' : ` (expires ${new Date(held.grant.expiresAt).toISOString()})`;
    return new GastownError('git_auth_failed', `${which} is past its usable life${at} and no fresh token could be had${cause}`);
  }

  // ---- state -------------------------------------------------------------------------

  #usable(): GitCredential | null {
    const held = this.#held;
    if (held === null || held.rejected || this.#stopped || !isUsable(this.#o.clock.now(), held.times)) return null;
    return { username: held.grant.username, password: held.grant.token, fingerprint: held.fingerprint };
  }

  #recentlyFailed(): boolean {
    return this.#consecutiveFailures > 0 && this.#lastAttemptAt !== null && this.#o.clock.now() - this.#lastAttemptAt < GIT_TOKEN_MIN_RETRY_MS;
  }

  #install(grant: GitTokenGrant): void {
    if (this.#held !== null) this.#refreshCount += 1;
    this.#held = {
      grant,
      fingerprint: fingerprint(grant.token),
      times: planGitToken(this.#o.clock.now(), grant.expiresAt, this.#o.random),
      rejected: false,
    };
    if (!this.#registered.includes(grant.token)) {
      this.#o.secrets?.add(grant.token);
      this.#registered.push(grant.token);
      while (this.#registered.length > KEEP_SUPERSEDED_SECRETS + 1) {
        const old = this.#registered.shift();
        if (old !== undefined) this.#o.secrets?.remove(old);
      }
    }
  }

  #tokenFields(): Record<string, unknown> {
    const held = this.#held;
    if (held === null) return { tokenFingerprint: null };
    return { tokenFingerprint: held.fingerprint, expiresAt: held.grant.expiresAt };
  }

  // ---- timer -------------------------------------------------------------------------

  #arm(): void {
    this.#clearTimer();
    const held = this.#held;
    if (this.#stopped || !this.#refresh || this.#sources.length === 0 || held === null) {
      this.#nextRefreshAt = null;
      return;
    }
    if (this.#inFlight !== null) return; // re-armed when it settles
    const now = this.#o.clock.now();
    // a refused token is replaced at once (then with backoff); a PAT otherwise never is
    const desired = this.#retryAt ?? (held.rejected ? now : held.times.refreshAt);
    if (desired === null) {
      this.#nextRefreshAt = null;
      return;
    }
    const at = nextAttemptAt(now, desired, held.times.usableUntil ?? Number.POSITIVE_INFINITY);
    this.#nextRefreshAt = at;
    this.#timer = this.#o.timers.setTimeout(() => this.#onTimer(), at - now);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Returns the pull (settled, never rejecting) so a manual timer driver can await it. */
  #onTimer(): Promise<void> {
    this.#timer = null;
    this.#nextRefreshAt = null;
    return this.#pull('scheduled').catch(() => undefined);
  }
}
