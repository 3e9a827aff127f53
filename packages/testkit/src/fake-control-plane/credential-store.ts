/**
 * The fake control plane's agents and refresh credentials: single-use rotation, a grace
 * window that replays the same result for a lost response, reuse detection that revokes
 * the family, and a generation per agent (bumping it revokes every token of the agent).
 */
import { createHash, randomBytes } from 'node:crypto';
import { GastownError, REFRESH_CREDENTIAL_PREFIX } from '@gastown/protocol';
import type { AccessTokenGrant, AgentCredentials, AgentIdentity, ErrorCode } from '@gastown/protocol';
import { mintAgentToken } from './tokens';

interface RefreshRecord {
  agentId: string;
  gen: number;
  family: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  result: AgentCredentials | null;
}

export interface AgentEntry {
  identity: AgentIdentity;
  gen: number;
}

export type RefreshVerdict =
  { ok: true; credentials: AgentCredentials; replay: boolean; agentId: string } | { ok: false; code: ErrorCode; agentId: string | null };

export interface CredentialStoreOptions {
  key: Uint8Array;
  now: () => number;
  ttlSeconds: () => number;
  refreshGraceSeconds: number;
  refreshIdleExpirySeconds: number;
  onReuse: (agentId: string) => void;
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export class CredentialStore {
  readonly agents = new Map<string, AgentEntry>();
  readonly #refresh = new Map<string, RefreshRecord>();
  readonly #revokedFamilies = new Set<string>();

  constructor(private readonly o: CredentialStoreOptions) {}

  /** A (re)dispatch: register the agent at `agent.gen`, revoke older families, issue a new one. */
  async issue(agent: AgentIdentity): Promise<AgentCredentials> {
    this.agents.set(agent.id, { identity: agent, gen: agent.gen });
    this.revokeFamilies(agent.id);
    return this.#mint(agent.id, randomBytes(8).toString('hex'));
  }

  /** A fresh access token in the agent's current generation (warm send, alarm push). */
  async grant(agentId: string): Promise<AccessTokenGrant> {
    const entry = this.#entry(agentId);
    const minted = await mintAgentToken(this.o.key, entry.identity, entry.gen, this.o.now(), this.o.ttlSeconds());
    return { accessToken: minted.token, accessTokenExpiresAt: minted.expiresAt, accessTokenIssuedAt: minted.issuedAt, gen: entry.gen };
  }

  /** Stop/redispatch: every token of the old generation is revoked from now on. */
  bumpGen(agentId: string): number {
    const entry = this.#entry(agentId);
    entry.gen += 1;
    return entry.gen;
  }

  revokeFamilies(agentId: string): void {
    for (const record of this.#refresh.values()) if (record.agentId === agentId) this.#revokedFamilies.add(record.family);
  }

  async refresh(presented: string): Promise<RefreshVerdict> {
    const now = this.o.now();
    const record = this.#refresh.get(hash(presented));
    if (record === undefined) return { ok: false, code: 'refresh_invalid', agentId: null };
    const entry = this.agents.get(record.agentId);
    if (entry === undefined || this.#revokedFamilies.has(record.family)) return { ok: false, code: 'refresh_invalid', agentId: record.agentId };
    if (entry.gen !== record.gen) return { ok: false, code: 'token_revoked', agentId: record.agentId };
    if (record.usedAt !== null) {
      if (record.result !== null && now - record.usedAt <= this.o.refreshGraceSeconds * 1000) {
        return { ok: true, credentials: record.result, replay: true, agentId: record.agentId };
      }
      this.#revokedFamilies.add(record.family);
      this.o.onReuse(record.agentId);
      return { ok: false, code: 'refresh_reused', agentId: record.agentId };
    }
    if (now >= record.expiresAt) return { ok: false, code: 'refresh_invalid', agentId: record.agentId };
    record.usedAt = now;
    record.result = await this.#mint(record.agentId, record.family);
    return { ok: true, credentials: record.result, replay: false, agentId: record.agentId };
  }

  async #mint(agentId: string, family: string): Promise<AgentCredentials> {
    const entry = this.#entry(agentId);
    const now = this.o.now();
    const minted = await mintAgentToken(this.o.key, entry.identity, entry.gen, now, this.o.ttlSeconds());
    const refreshCredential = REFRESH_CREDENTIAL_PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = now + this.o.refreshIdleExpirySeconds * 1000;
    this.#refresh.set(hash(refreshCredential), { agentId, gen: entry.gen, family, createdAt: now, expiresAt, usedAt: null, result: null });
    return {
      accessToken: minted.token,
      accessTokenExpiresAt: minted.expiresAt,
      accessTokenIssuedAt: minted.issuedAt,
      refreshCredential,
      refreshCredentialExpiresAt: expiresAt,
      gen: entry.gen,
    };
  }

  #entry(agentId: string): AgentEntry {
    const entry = this.agents.get(agentId);
    if (entry === undefined) throw new GastownError('not_found', `fake control plane: unknown agent ${agentId}`);
    return entry;
  }
}
