/**
 * Refresh-credential families in the TownDO's SQLite. Stores only SHA-256 hashes of refresh
 * credentials and the non-secret claims of the token minted at each rotation.
 *
 * Concurrency: a Durable Object runs one request at a time between awaits, so every
 * read-decide-write step below is synchronous (no await between the read and the write);
 * the only awaits are hashing, HMAC and signing, before or after that step. A refresh is two
 * calls for that reason: `locate` hashes the presented credential and names its agent (async);
 * the caller then looks that agent up and calls `refresh`, whose decision runs before its first
 * await — so the subject it decides on is the agent as it is at that moment.
 *
 * The tables are created by the TownDO's numbered migrations (src/town/schema.ts, version 3).
 */
import { CredentialError, GastownError, type AgentCredentials } from '@gastown/protocol';
import type { Row, Sql } from '../storage/sql';
import { agentClaimsFor, clampAgentTokenTtl, mintAgentAccessToken, newJti, signAgentClaims } from './agent-token';
import type {
  AgentSubject,
  CredentialService,
  CredentialServiceDeps,
  IssueOptions,
  MintedAccessToken,
  PresentedRefreshCredential,
  RefreshOutcome,
  RevokeOptions,
} from './contract';
import { hmacKeyringOf } from './keyring';
import {
  credentialFingerprint,
  deriveSuccessorCredential,
  generateRefreshCredential,
  hashRefreshCredential,
  isRefreshCredentialShape,
  toHex,
} from './refresh-credential';
import { decideRefresh, type StoredCredentialFamily, type StoredRefreshCredential, type SuccessorClaims } from './refresh-decision';

export const CREDENTIAL_REUSE_EVENT = 'credential_reuse_detected';

export function createCredentialService(deps: CredentialServiceDeps): CredentialService {
  return new SqlCredentialService(deps);
}

class SqlCredentialService implements CredentialService {
  readonly #deps: CredentialServiceDeps;

  constructor(deps: CredentialServiceDeps) {
    hmacKeyringOf(deps.config.keyring); // fail fast on a foreign keyring
    this.#deps = deps;
  }

  async issue(subject: AgentSubject, ttlSeconds: number, options: IssueOptions = {}): Promise<{ credentials: AgentCredentials; jti: string }> {
    const { sql, clock, randomBytes, config } = this.#deps;
    const now = clock.now();
    const refreshCredential = generateRefreshCredential(randomBytes);
    const hash = await hashRefreshCredential(refreshCredential);
    const minted = await mintAgentAccessToken(config, subject, { ttlSeconds, now, randomBytes });
    const familyId = `fam_${toHex(randomBytes(12))}`;
    const expiresAt = now + config.policy.refreshIdleExpirySeconds * 1000;
    // synchronous from here: the caller's precondition, revoke old families (unless kept), start the new one
    options.precondition?.();
    if ((options.previousFamilies ?? 'revoke') === 'revoke') this.#revokeFamilies(subject.id, 'reissued', now);
    this.#prune(subject.id, now);
    sql.run`INSERT INTO credential_families (id, agent_id, gen, created_at) VALUES (${familyId}, ${subject.id}, ${subject.gen}, ${now})`;
    sql.run`INSERT INTO refresh_credentials (hash, family_id, agent_id, issued_at, expires_at)
            VALUES (${hash}, ${familyId}, ${subject.id}, ${now}, ${expiresAt})`;
    return { credentials: toCredentials(minted, refreshCredential, expiresAt), jti: minted.jti };
  }

  mintAccess(subject: AgentSubject, ttlSeconds: number): Promise<MintedAccessToken> {
    const { config, clock, randomBytes } = this.#deps;
    return mintAgentAccessToken(config, subject, { ttlSeconds, now: clock.now(), randomBytes });
  }

  async locate(presented: string): Promise<PresentedRefreshCredential> {
    if (!isRefreshCredentialShape(presented)) throw new CredentialError('refresh_invalid', 'refresh credential is malformed');
    const hash = await hashRefreshCredential(presented);
    const row = this.#deps.sql.one<{ agent_id: string; gen: number | null }>`SELECT r.agent_id AS agent_id, f.gen AS gen
      FROM refresh_credentials r LEFT JOIN credential_families f ON f.id = r.family_id WHERE r.hash = ${hash}`;
    return { presented, hash, agentId: row ? row.agent_id : null, familyGen: typeof row?.gen === 'number' ? row.gen : null };
  }

  async refresh(located: PresentedRefreshCredential, currentSubject: AgentSubject | null, ttlSeconds: number): Promise<RefreshOutcome> {
    const { sql, clock, config, randomBytes, recordEvent } = this.#deps;
    const { presented, hash } = located;

    // synchronous read-decide-write (no await before the UPDATE below)
    const now = clock.now();
    const record = this.#loadCredential(hash);
    const family = record ? this.#loadFamily(record.familyId) : null;
    const subject = currentSubject && record && currentSubject.id === record.agentId ? currentSubject : null;
    const decision = decideRefresh({ record, family, currentGen: subject?.gen ?? null, now, policy: config.policy });

    switch (decision.kind) {
      case 'unknown':
        throw new CredentialError('refresh_invalid', 'refresh credential is not known');
      case 'expired':
        throw new CredentialError('refresh_invalid', 'refresh credential has expired');
      case 'revoked':
        throw new CredentialError('token_revoked', `agent credentials are revoked (${decision.reason})`);
      case 'reuse_detected': {
        const r = record as StoredRefreshCredential;
        const f = family as StoredCredentialFamily;
        this.#revokeFamily(f.id, 'reuse_detected', now);
        recordEvent(CREDENTIAL_REUSE_EVENT, r.agentId, {
          familyId: f.id,
          gen: f.gen,
          credentialFingerprint: credentialFingerprint(r.hash),
          usedAt: decision.usedAt,
          presentedAt: now,
          graceSeconds: config.policy.refreshGraceSeconds,
        });
        throw new CredentialError('refresh_reused', 'refresh credential was already used; the credential family is revoked');
      }
      case 'grace_replay':
        return {
          ...(await this.#materialize(presented, record as StoredRefreshCredential, subject as AgentSubject, decision.usedAt, decision.successor)),
          replay: true,
        };
      case 'rotate': {
        const s = subject as AgentSubject;
        const iat = Math.floor(now / 1000);
        const successor: SuccessorClaims = {
          kid: config.keyring.activeKid,
          jti: newJti(randomBytes),
          iat,
          exp: iat + clampAgentTokenTtl(config.policy, ttlSeconds),
        };
        const written = sql.run`UPDATE refresh_credentials
          SET used_at = ${now}, successor_kid = ${successor.kid}, successor_jti = ${successor.jti},
              successor_iat = ${successor.iat}, successor_exp = ${successor.exp}
          WHERE hash = ${hash} AND used_at IS NULL`;
        if (written !== 1) throw new GastownError('internal', 'refresh credential changed during rotation');
        this.#prune(s.id, now);
        return { ...(await this.#materialize(presented, record as StoredRefreshCredential, s, now, successor)), replay: false };
      }
    }
  }

  revokeAgent(agentId: string, reason: string, options: RevokeOptions = {}): void {
    const now = this.#deps.clock.now();
    const why = reason.slice(0, 200);
    if (options.belowGen === undefined) {
      this.#revokeFamilies(agentId, why, now);
      return;
    }
    this.#deps.sql.run`UPDATE credential_families SET revoked_at = ${now}, revoked_reason = ${why}
                       WHERE agent_id = ${agentId} AND gen < ${options.belowGen} AND revoked_at IS NULL`;
  }

  agentsWithLiveFamilies(): ReadonlySet<string> {
    const rows = this.#deps.sql.all<{ agent_id: string }>`SELECT DISTINCT agent_id FROM credential_families WHERE revoked_at IS NULL`;
    return new Set(rows.map((r) => r.agent_id));
  }

  /**
   * The successor credential and access token of a used credential, rebuilt from stored
   * non-secret values: the same inputs give the same outputs (HMAC and HS256 are deterministic).
   */
  async #materialize(
    presented: string,
    record: StoredRefreshCredential,
    subject: AgentSubject,
    usedAt: number,
    successor: SuccessorClaims,
  ): Promise<Omit<RefreshOutcome, 'replay'>> {
    const { sql, config } = this.#deps;
    const keyring = hmacKeyringOf(config.keyring);
    if (!keyring.has(successor.kid)) {
      throw new CredentialError('refresh_invalid', 'the signing key of this refresh is no longer in the keyring');
    }
    const next = await deriveSuccessorCredential(await keyring.cryptoKey(successor.kid), presented);
    const nextHash = await hashRefreshCredential(next);
    const expiresAt = usedAt + config.policy.refreshIdleExpirySeconds * 1000;
    sql.run`INSERT OR IGNORE INTO refresh_credentials (hash, family_id, agent_id, issued_at, expires_at)
            VALUES (${nextHash}, ${record.familyId}, ${record.agentId}, ${usedAt}, ${expiresAt})`;
    const minted = await signAgentClaims(config, successor.kid, agentClaimsFor(subject, successor));
    return { agentId: record.agentId, credentials: toCredentials(minted, next, expiresAt), jti: minted.jti };
  }

  #loadCredential(hash: string): StoredRefreshCredential | null {
    const row = this.#deps.sql.one`SELECT * FROM refresh_credentials WHERE hash = ${hash}`;
    if (!row) return null;
    const kid = strOrNull(row, 'successor_kid');
    const jti = strOrNull(row, 'successor_jti');
    const iat = numOrNull(row, 'successor_iat');
    const exp = numOrNull(row, 'successor_exp');
    return {
      hash: str(row, 'hash'),
      familyId: str(row, 'family_id'),
      agentId: str(row, 'agent_id'),
      issuedAt: num(row, 'issued_at'),
      expiresAt: num(row, 'expires_at'),
      usedAt: numOrNull(row, 'used_at'),
      successor: kid !== null && jti !== null && iat !== null && exp !== null ? { kid, jti, iat, exp } : null,
    };
  }

  #loadFamily(id: string): StoredCredentialFamily | null {
    const row = this.#deps.sql.one`SELECT * FROM credential_families WHERE id = ${id}`;
    if (!row) return null;
    return {
      id: str(row, 'id'),
      agentId: str(row, 'agent_id'),
      gen: num(row, 'gen'),
      createdAt: num(row, 'created_at'),
      revokedAt: numOrNull(row, 'revoked_at'),
      revokedReason: strOrNull(row, 'revoked_reason'),
    };
  }

  #revokeFamilies(agentId: string, reason: string, now: number): void {
    this.#deps.sql.run`UPDATE credential_families SET revoked_at = ${now}, revoked_reason = ${reason}
                       WHERE agent_id = ${agentId} AND revoked_at IS NULL`;
  }

  #revokeFamily(familyId: string, reason: string, now: number): void {
    this.#deps.sql.run`UPDATE credential_families SET revoked_at = ${now}, revoked_reason = ${reason}
                       WHERE id = ${familyId} AND revoked_at IS NULL`;
  }

  /** Drop credentials past their idle expiry (and the grace window), then families left empty and long revoked. */
  #prune(agentId: string, now: number): void {
    const { sql, config } = this.#deps;
    const cutoff = now - config.policy.refreshGraceSeconds * 1000;
    sql.run`DELETE FROM refresh_credentials WHERE agent_id = ${agentId} AND expires_at < ${cutoff}`;
    const familyCutoff = now - config.policy.refreshIdleExpirySeconds * 1000;
    sql.run`DELETE FROM credential_families
            WHERE agent_id = ${agentId} AND revoked_at IS NOT NULL AND revoked_at < ${familyCutoff}
              AND NOT EXISTS (SELECT 1 FROM refresh_credentials r WHERE r.family_id = credential_families.id)`;
  }
}

function toCredentials(minted: MintedAccessToken, refreshCredential: string, refreshCredentialExpiresAt: number): AgentCredentials {
  return {
    accessToken: minted.accessToken,
    accessTokenExpiresAt: minted.accessTokenExpiresAt,
    accessTokenIssuedAt: minted.accessTokenIssuedAt,
    refreshCredential,
    refreshCredentialExpiresAt,
    gen: minted.gen,
  };
}

function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new GastownError('internal', `credential store: column ${column} is not text`);
  return value;
}
function strOrNull(row: Row, column: string): string | null {
  return row[column] === null || row[column] === undefined ? null : str(row, column);
}
function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== 'number') throw new GastownError('internal', `credential store: column ${column} is not a number`);
  return value;
}
function numOrNull(row: Row, column: string): number | null {
  return row[column] === null || row[column] === undefined ? null : num(row, column);
}
