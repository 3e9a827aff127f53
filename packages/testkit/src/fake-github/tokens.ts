/**
 * Apps, installations, installation tokens and PATs of the fake GitHub, and the pure decisions on
 * them: is this app JWT good, may this token read/write this repository. No HTTP here.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { GastownError } from '@gastown/protocol';
import { decodeJwt, jwtVerify } from 'jose';
import type { AuthOutcome, Clock, FakeApp, PermissionLevel, Permissions } from './types';

/** What GitHub grants an installation unless told otherwise. */
export const DEFAULT_INSTALLATION_PERMISSIONS: Permissions = { contents: 'write', pull_requests: 'write', metadata: 'read' };
/** GitHub refuses an app JWT whose `exp` is more than 10 minutes ahead. */
export const MAX_JWT_LIFETIME_SECONDS = 600;
/** The user name GitHub expects with an installation token over git. */
export const INSTALLATION_TOKEN_USERNAME = 'x-access-token';

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface AppRecord {
  appId: string;
  publicKey: KeyObject;
}

interface InstallationRecord {
  installationId: string;
  appId: string;
  /** lower-case full names */
  repos: Set<string>;
  permissions: Permissions;
}

interface TokenRecord {
  kind: 'installation' | 'pat';
  installationId: string | null;
  repos: Set<string>;
  permissions: Permissions;
  expiresAt: number | null;
  revoked: boolean;
}

/** A decision: `ok`, or a refusal with a short reason a test (or a log) can show. */
export type Decision = { outcome: AuthOutcome; reason: string | null };

export type JwtDecision = { ok: true; appId: string } | { ok: false; reason: string; message: string };

export type IssueResult =
  { ok: true; token: string; expiresAt: number; permissions: Permissions; repos: string[] } | { ok: false; status: 404 | 422; reason: string; message: string };

/** First 8 hex of the SHA-256 of a secret: what records show instead of it. */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 8);
}

/** Convert a PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM to PKCS#8 (`BEGIN PRIVATE KEY`). */
export function toPkcs8Pem(pem: string): string {
  return createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString();
}

export const repoKey = (fullName: string) => fullName.toLowerCase();

function levelCovers(granted: PermissionLevel | undefined, needed: PermissionLevel): boolean {
  return granted === 'write' || (granted === 'read' && needed === 'read');
}

export class CredentialStore {
  private readonly apps = new Map<string, AppRecord>();
  private readonly installations = new Map<string, InstallationRecord>();
  private readonly tokens = new Map<string, TokenRecord>();
  private nextAppId = 100_001;
  private nextInstallationId = 5_000_001;

  constructor(
    private readonly clock: Clock,
    private readonly randomBytes: (size: number) => Buffer,
  ) {}

  createApp(): FakeApp {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const appId = String(this.nextAppId++);
    this.apps.set(appId, { appId, publicKey });
    return {
      appId,
      privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      privateKeyPkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    };
  }

  createInstallation(appId: string, repos: string[], permissions: Permissions = DEFAULT_INSTALLATION_PERMISSIONS): string {
    if (!this.apps.has(appId)) throw new GastownError('not_found', `fake-github: no app ${appId}`);
    const installationId = String(this.nextInstallationId++);
    this.installations.set(installationId, { installationId, appId, repos: new Set(repos.map(repoKey)), permissions: { ...permissions } });
    return installationId;
  }

  uninstall(installationId: string): void {
    if (!this.installations.delete(installationId)) throw new GastownError('not_found', `fake-github: no installation ${installationId}`);
    for (const record of this.tokens.values()) if (record.installationId === installationId) record.revoked = true;
  }

  createPat(repos: string[], push: boolean): string {
    const token = this.newToken('ghp_');
    const level: PermissionLevel = push ? 'write' : 'read';
    this.tokens.set(token, {
      kind: 'pat',
      installationId: null,
      repos: new Set(repos.map(repoKey)),
      permissions: { contents: level, pull_requests: level, metadata: 'read' },
      expiresAt: null,
      revoked: false,
    });
    return token;
  }

  issued(): string[] {
    return [...this.tokens.keys()];
  }

  /** Verify `Authorization: Bearer <app JWT>` the way GitHub does (RS256, iss = app id, exp ≤ 10 min ahead). */
  async verifyAppJwt(authorization: string | undefined): Promise<JwtDecision> {
    const undecodable = (reason: string): JwtDecision => ({ ok: false, reason, message: 'A JSON web token could not be decoded' });
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return { ok: false, reason: 'missing', message: 'A JSON web token could not be decoded' };
    const jwt = match[1]!;
    let iss: unknown;
    try {
      iss = decodeJwt(jwt).iss;
    } catch {
      return undecodable('malformed');
    }
    const app = this.apps.get(String(iss));
    if (!app) return undecodable('unknown_app');
    const nowMs = this.clock.now();
    let payload;
    try {
      ({ payload } = await jwtVerify(jwt, app.publicKey, { algorithms: ['RS256'], currentDate: new Date(nowMs) }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') {
        return {
          ok: false,
          reason: 'expired',
          message: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        };
      }
      return undecodable(code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'signature' : 'malformed');
    }
    const nowSeconds = Math.floor(nowMs / 1000);
    if (typeof payload.exp !== 'number') return undecodable('no_exp');
    if (payload.exp - nowSeconds > MAX_JWT_LIFETIME_SECONDS) {
      return { ok: false, reason: 'exp_too_far', message: "'Expiration time' claim ('exp') is too far in the future" };
    }
    if (typeof payload.iat !== 'number' || payload.iat > nowSeconds) {
      return { ok: false, reason: 'bad_iat', message: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued" };
    }
    return { ok: true, appId: app.appId };
  }

  /**
   * `POST /app/installations/:id/access_tokens` after the JWT checked out. `repositories` are bare
   * names (as GitHub takes them); `exists` says whether a full name is a real repository.
   */
  issueInstallationToken(
    appId: string,
    installationId: string,
    request: { repositories?: string[]; permissions?: Permissions },
    lifetimeSeconds: number,
    exists: (fullName: string) => boolean,
  ): IssueResult {
    const installation = this.installations.get(installationId);
    if (!installation || installation.appId !== appId) return { ok: false, status: 404, reason: 'not_installed', message: 'Not Found' };
    let repos = [...installation.repos].filter(exists);
    if (request.repositories) {
      const wanted = request.repositories.map((name) => name.toLowerCase());
      const chosen = repos.filter((full) => wanted.includes(full.split('/')[1]!));
      if (chosen.length !== new Set(wanted).size) {
        return {
          ok: false,
          status: 422,
          reason: 'repository_not_installed',
          message: 'There is at least one repository that does not exist or is not accessible to the parent installation.',
        };
      }
      repos = chosen;
    }
    let permissions = { ...installation.permissions };
    if (request.permissions) {
      for (const [name, level] of Object.entries(request.permissions)) {
        if (!levelCovers(installation.permissions[name], level)) {
          return { ok: false, status: 422, reason: 'permission_not_granted', message: 'The permissions requested are not granted to this installation.' };
        }
      }
      permissions = { metadata: 'read', ...request.permissions };
    }
    const token = this.newToken('ghs_');
    const expiresAt = this.clock.now() + lifetimeSeconds * 1000;
    this.tokens.set(token, { kind: 'installation', installationId, repos: new Set(repos), permissions, expiresAt, revoked: false });
    return { ok: true, token, expiresAt, permissions, repos };
  }

  /**
   * May `token` do `need` on `fullName`? `username` is the Basic user name over git (null for
   * REST): installation tokens need `x-access-token`, PATs take any.
   */
  check(token: string | null, username: string | null, fullName: string, need: { permission: string; level: PermissionLevel }): Decision {
    if (token === null || token === '') return { outcome: 'missing', reason: null };
    const record = this.tokens.get(token);
    if (!record || record.revoked) return { outcome: 'unknown', reason: record ? 'revoked' : 'unknown_token' };
    if (record.kind === 'installation' && username !== null && username !== INSTALLATION_TOKEN_USERNAME) return { outcome: 'unknown', reason: 'username' };
    if (record.expiresAt !== null && record.expiresAt <= this.clock.now()) return { outcome: 'expired', reason: null };
    if (!record.repos.has(repoKey(fullName))) return { outcome: 'no_access', reason: 'not_covered' };
    if (!levelCovers(record.permissions[need.permission], need.level)) return { outcome: 'no_access', reason: 'permission' };
    return { outcome: 'ok', reason: null };
  }

  /** What `GET /repos/:o/:r` shows as `permissions` for a token that covers the repository. */
  repoPermissions(token: string): { admin: boolean; maintain: boolean; push: boolean; triage: boolean; pull: boolean } {
    const contents = this.tokens.get(token)?.permissions.contents;
    return { admin: false, maintain: false, push: contents === 'write', triage: false, pull: contents !== undefined };
  }

  private newToken(prefix: string): string {
    const bytes = this.randomBytes(36);
    let body = '';
    for (const byte of bytes) body += TOKEN_ALPHABET[byte % TOKEN_ALPHABET.length];
    return prefix + body;
  }
}
