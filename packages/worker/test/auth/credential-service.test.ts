import { AgentCredentialsSchema, CredentialError, REFRESH_GRACE_SECONDS, REFRESH_IDLE_EXPIRY_SECONDS } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import {
  createCredentialService,
  CREDENTIAL_REUSE_EVENT,
  verifyAgentAccessToken,
  type AgentSubject,
  type AuthConfig,
  type CredentialService,
  type RefreshOutcome,
} from '../../src/auth';
import type { Sql } from '../../src/storage/sql';
import { codeOf, DAY, fakeClock, makeConfig, seededBytes, subject, T0, withTownStorage, type FakeClock } from './support/fixtures';

const TTL = 3600;
const GRACE_MS = REFRESH_GRACE_SECONDS * 1000;

interface Harness {
  service: CredentialService;
  clock: FakeClock;
  events: { type: string; agentId: string; data: Record<string, unknown> }[];
  agents: Map<string, AgentSubject>;
  current: (id: string) => AgentSubject | null;
  /** A refresh as the town does it: locate, look the agent up, refresh (by default with `service` and TTL). */
  refresh(presented: string, ttlSeconds?: number, service?: CredentialService): Promise<RefreshOutcome>;
  sql: Sql;
  config: AuthConfig;
  /** A second service over the same storage, e.g. after a redeploy with a new ring. */
  reconfigure(config: AuthConfig): CredentialService;
}

function harness(sql: Sql, seed = 1, config = makeConfig(['k1', 'k2'], 'k2', TTL)): Harness {
  const clock = fakeClock(T0);
  const events: Harness['events'] = [];
  const agents = new Map<string, AgentSubject>([['ag_polecat01', subject()]]);
  const randomBytes = seededBytes(seed);
  const make = (c: AuthConfig) =>
    createCredentialService({ sql, config: c, clock, randomBytes, recordEvent: (type, agentId, data) => events.push({ type, agentId, data }) });
  const service = make(config); // its tables: the TownDO's numbered migrations, run when the object starts
  const current = (id: string) => agents.get(id) ?? null;
  return {
    service,
    clock,
    events,
    agents,
    sql,
    config,
    current,
    async refresh(presented, ttlSeconds = TTL, using = service) {
      const located = await using.locate(presented);
      return using.refresh(located, located.agentId === null ? null : current(located.agentId), ttlSeconds);
    },
    reconfigure: make,
  };
}

function run<T>(name: string, fn: (h: Harness) => Promise<T>): Promise<T> {
  return withTownStorage(`credential-service-${name}`, (sql) => fn(harness(sql)));
}

describe('credential service', () => {
  it('issues a family: schema-valid credentials, a verifiable token, one stored hash', () =>
    run('issue', async (h) => {
      const { credentials, jti } = await h.service.issue(subject(), TTL);
      expect(AgentCredentialsSchema.parse(credentials)).toEqual(credentials);
      expect(credentials.refreshCredential).toMatch(/^gtr_[A-Za-z0-9_-]{43}$/);
      expect(credentials.refreshCredentialExpiresAt).toBe(T0 + REFRESH_IDLE_EXPIRY_SECONDS * 1000);
      const claims = await verifyAgentAccessToken(h.config, credentials.accessToken, { now: T0 });
      expect(claims).toMatchObject({ jti, gen: 1, sub: 'ag_polecat01' });
      expect(h.sql.all`SELECT * FROM refresh_credentials`).toHaveLength(1);
      expect(h.sql.all`SELECT * FROM credential_families WHERE revoked_at IS NULL`).toHaveLength(1);
    }));

  it('rotates: a new pair, the old credential marked used, the new one usable', () =>
    run('rotate', async (h) => {
      const first = await h.service.issue(subject(), TTL);
      h.clock.advance(30 * 60_000);
      const second = await h.refresh(first.credentials.refreshCredential);
      expect(second.replay).toBe(false);
      expect(second.credentials.refreshCredential).not.toBe(first.credentials.refreshCredential);
      expect(second.credentials.accessToken).not.toBe(first.credentials.accessToken);
      expect(second.credentials.accessTokenIssuedAt).toBe(T0 + 30 * 60_000);
      await expect(verifyAgentAccessToken(h.config, second.credentials.accessToken, { now: h.clock.now() })).resolves.toMatchObject({ jti: second.jti });
      const used = h.sql.all`SELECT used_at FROM refresh_credentials WHERE used_at IS NOT NULL`;
      expect(used).toEqual([{ used_at: T0 + 30 * 60_000 }]);
      h.clock.advance(30 * 60_000);
      const third = await h.refresh(second.credentials.refreshCredential);
      expect(third.credentials.refreshCredential).not.toBe(second.credentials.refreshCredential);
    }));

  it('replay within the grace window returns the identical pair', () =>
    run('grace', async (h) => {
      const first = await h.service.issue(subject(), TTL);
      h.clock.advance(1000);
      const rotated = await h.refresh(first.credentials.refreshCredential);
      h.clock.advance(GRACE_MS); // exactly 30 s after first use
      const replayed = await h.refresh(first.credentials.refreshCredential);
      expect(replayed.replay).toBe(true);
      expect(replayed.credentials).toEqual(rotated.credentials);
      expect(replayed.jti).toBe(rotated.jti);
      expect(h.events).toEqual([]);
      // the replayed successor is the real one: it rotates normally
      const next = await h.refresh(replayed.credentials.refreshCredential);
      expect(next.replay).toBe(false);
    }));

  it('concurrent refreshes of one credential yield one rotation and the same pair', () =>
    run('concurrent', async (h) => {
      const first = await h.service.issue(subject(), TTL);
      const results = await Promise.all(Array.from({ length: 5 }, () => h.refresh(first.credentials.refreshCredential)));
      expect(results.filter((r) => !r.replay)).toHaveLength(1);
      for (const r of results) expect(r.credentials).toEqual(results[0]!.credentials);
      expect(h.sql.all`SELECT hash FROM refresh_credentials`).toHaveLength(2);
    }));

  it('reuse after the grace window revokes the family and records an event without secrets', () =>
    run('reuse', async (h) => {
      const first = await h.service.issue(subject(), TTL);
      const second = await h.refresh(first.credentials.refreshCredential);
      h.clock.advance(GRACE_MS + 1);
      expect(await codeOf(h.refresh(first.credentials.refreshCredential))).toBe('refresh_reused');
      // the newest credential of the family is dead too
      expect(await codeOf(h.refresh(second.credentials.refreshCredential))).toBe('token_revoked');
      expect(h.events).toHaveLength(1);
      const event = h.events[0]!;
      expect(event.type).toBe(CREDENTIAL_REUSE_EVENT);
      expect(event.agentId).toBe('ag_polecat01');
      expect(event.data.familyId).toMatch(/^fam_/);
      const serialized = JSON.stringify(event);
      for (const secret of [first.credentials.refreshCredential, second.credentials.refreshCredential, second.credentials.accessToken]) {
        expect(serialized).not.toContain(secret);
      }
      expect(serialized).not.toContain('gtr_');
      // presenting again after the family is revoked: still rejected, no second event
      expect(await codeOf(h.refresh(first.credentials.refreshCredential))).toBe('token_revoked');
      expect(h.events).toHaveLength(1);
    }));

  it('a stopped or re-dispatched agent (gen changed) → token_revoked', () =>
    run('gen', async (h) => {
      const first = await h.service.issue(subject(), TTL);
      h.agents.set('ag_polecat01', subject({ gen: 2 }));
      expect(await codeOf(h.refresh(first.credentials.refreshCredential))).toBe('token_revoked');
      h.agents.delete('ag_polecat01');
      expect(await codeOf(h.refresh(first.credentials.refreshCredential))).toBe('token_revoked');
    }));

  it('revokeAgent kills every family; issue kills the previous family', () =>
    run('revoke', async (h) => {
      const a = await h.service.issue(subject(), TTL);
      const b = await h.service.issue(subject(), TTL);
      expect(await codeOf(h.refresh(a.credentials.refreshCredential))).toBe('token_revoked');
      await expect(h.refresh(b.credentials.refreshCredential)).resolves.toBeTruthy();
      const c = await h.service.issue(subject(), TTL);
      h.service.revokeAgent('ag_polecat01', 'stopped');
      expect(await codeOf(h.refresh(c.credentials.refreshCredential))).toBe('token_revoked');
      expect(h.sql.all`SELECT revoked_reason FROM credential_families ORDER BY created_at, revoked_reason`.map((r) => r.revoked_reason).sort()).toEqual([
        'reissued',
        'reissued',
        'stopped',
      ]);
    }));

  it('idle expiry (7 d unused) → refresh_invalid; unknown and malformed → refresh_invalid', () =>
    run('expiry', async (h) => {
      const first = await h.service.issue(subject(), TTL);
      h.clock.advance(7 * DAY - 1);
      const almost = await h.refresh(first.credentials.refreshCredential);
      h.clock.advance(7 * DAY);
      expect(await codeOf(h.refresh(almost.credentials.refreshCredential))).toBe('refresh_invalid');
      expect(await codeOf(h.refresh(`gtr_${'A'.repeat(43)}`))).toBe('refresh_invalid');
      expect(await codeOf(h.refresh('not-a-credential'))).toBe('refresh_invalid');
      expect(await codeOf(h.refresh(almost.credentials.accessToken))).toBe('refresh_invalid');
    }));

  it('clamps the town TTL to the deployment TTL on refresh', () =>
    run('ttl', async (h) => {
      const first = await h.service.issue(subject(), 10 * TTL);
      expect(first.credentials.accessTokenExpiresAt - first.credentials.accessTokenIssuedAt).toBe(TTL * 1000);
      const short = await h.refresh(first.credentials.refreshCredential, 300);
      expect(short.credentials.accessTokenExpiresAt - short.credentials.accessTokenIssuedAt).toBe(300 * 1000);
    }));

  it('a grace replay survives a key switch in between (successor kid is stored)', () =>
    run('replay-rotation', async (h) => {
      const first = await h.service.issue(subject(), TTL);
      const rotated = await h.refresh(first.credentials.refreshCredential);
      const switched = h.reconfigure(makeConfig(['k1', 'k2', 'k3'], 'k3', TTL));
      h.clock.advance(5000);
      const replayed = await h.refresh(first.credentials.refreshCredential, TTL, switched);
      expect(replayed.credentials).toEqual(rotated.credentials);
      const next = await h.refresh(replayed.credentials.refreshCredential, TTL, switched);
      expect(next.credentials.accessToken.split('.')[0]).not.toBe(rotated.credentials.accessToken.split('.')[0]); // kid k3 now
    }));

  it('mintAccess mints a fresh token for the subject without touching refresh credentials', () =>
    run('mint-access', async (h) => {
      await h.service.issue(subject(), TTL);
      h.clock.advance(60_000);
      const minted = await h.service.mintAccess(subject(), TTL);
      expect(minted.accessTokenIssuedAt).toBe(T0 + 60_000);
      await expect(verifyAgentAccessToken(h.config, minted.accessToken, { now: h.clock.now() })).resolves.toMatchObject({ jti: minted.jti });
      expect(h.sql.all`SELECT * FROM refresh_credentials`).toHaveLength(1);
    }));

  it('stores only hashes: no plaintext credential or access token in any row of either table', () =>
    run('hashes', async (h) => {
      const secrets: string[] = [];
      const issued = await h.service.issue(subject(), TTL);
      secrets.push(issued.credentials.refreshCredential, issued.credentials.accessToken);
      let current = issued.credentials.refreshCredential;
      for (let i = 0; i < 5; i += 1) {
        h.clock.advance(10 * 60_000);
        const next = await h.refresh(current);
        secrets.push(next.credentials.refreshCredential, next.credentials.accessToken);
        current = next.credentials.refreshCredential;
      }
      const other = await h.service.issue(subject({ id: 'ag_mayor0001', role: 'mayor', rigId: null }), TTL);
      secrets.push(other.credentials.refreshCredential, other.credentials.accessToken);
      const cells = [...h.sql.all`SELECT * FROM refresh_credentials`, ...h.sql.all`SELECT * FROM credential_families`].flatMap((row) =>
        Object.values(row).map((v) => String(v)),
      );
      expect(cells.length).toBeGreaterThan(40);
      const hits = secrets.flatMap((secret) => {
        const body = secret.replace(/^gtr_/, '');
        const parts = secret.split('.'); // a JWT's signature alone is as bad as the whole token
        return cells.filter((cell) => cell.includes(body) || (parts.length === 3 && cell.includes(parts[2]!)));
      });
      expect(hits).toEqual([]);
      expect(cells.some((cell) => cell.includes('gtr_'))).toBe(false);
    }));

  it('rejects a refresh whose credential error is a CredentialError family member', () =>
    run('family', async (h) => {
      const error = await h.refresh('gtr_x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialError);
    }));

  it('locate names the agent of a known credential, null for an unknown one; a refresh outcome names it too', () =>
    run('locate', async (h) => {
      const first = await h.service.issue(subject(), TTL);
      expect((await h.service.locate(first.credentials.refreshCredential)).agentId).toBe('ag_polecat01');
      expect((await h.service.locate(`gtr_${'B'.repeat(43)}`)).agentId).toBeNull();
      expect(await codeOf(h.service.locate('not-a-credential'))).toBe('refresh_invalid');
      expect((await h.refresh(first.credentials.refreshCredential)).agentId).toBe('ag_polecat01');
    }));
});
