import {
  CredentialError,
  GastownError,
  codeOf,
  type CreateRigRequest,
  type GitTokenGrant,
  type Rig,
  type RigAuthInput,
  type RigAuthView,
  type RigModels,
  type UpdateRigRequest,
} from '@gastown/protocol';
import { gitHostFor, resolveProvider, secretFingerprint, type GitHostClient } from '../../git-host';
import { isProbeable, probeGitRemote } from '../../git-host/remote-probe';
import { DEFAULT_RIG_SETTINGS, nextRigSettings } from '../agent-settings-rules';
import { assertModelAllowed, townAllowedModels } from '../model-rules';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from './context';
import type { TownService } from './town-service';

/** Where a git token went (event data). */
export type GitTokenSource = 'dispatch' | 'request';

const NO_AUTH: RigAuthView = { kind: 'none', appId: null, installationId: null, fingerprint: null };
const TOWN_MODELS: RigModels = { polecat: null, refinery: null };

/** The non-secret view of an auth input and its secret (write-only, stored apart in rig_secrets). */
async function splitAuth(input: RigAuthInput): Promise<{ view: RigAuthView; secret: string | null }> {
  if (input.kind === 'none') return { view: NO_AUTH, secret: null };
  if (input.kind === 'github_app') {
    return {
      view: { kind: 'github_app', appId: input.appId, installationId: input.installationId, fingerprint: await secretFingerprint(input.privateKey) },
      secret: input.privateKey,
    };
  }
  return { view: { kind: 'token', appId: null, installationId: null, fingerprint: await secretFingerprint(input.token) }, secret: input.token };
}

/**
 * Rigs with their git host: add and update (a new credential is checked against the host before
 * anything is stored — 422 git_auth_failed naming the cause), the git host client of a rig, and
 * the short-lived git tokens handed to the container (at dispatch, and on the broker's request).
 * Secrets never leave this service except into a git host client.
 */
export class RigService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
  ) {}

  async add(req: CreateRigRequest): Promise<Rig> {
    const { repos, ids, clock } = this.ctx;
    if (repos.rigs.getByName(req.name)) throw new GastownError('conflict', `a rig named ${req.name} already exists`);
    const models = this.nextModels(TOWN_MODELS, req.models);
    const { view: auth, secret } = await splitAuth(req.auth ?? { kind: 'none' });
    const mergeStrategy = req.mergeStrategy ?? 'direct';
    const provider = resolveProvider(req.gitUrl, req.provider, { authKind: auth.kind, mergeStrategy });
    const rig: Rig = {
      id: ids('rig'),
      townId: this.ctx.townId,
      name: req.name,
      gitUrl: req.gitUrl,
      defaultBranch: req.defaultBranch ?? 'main',
      createdAt: clock.now(),
      auth,
      mergeStrategy,
      provider: { ...provider, webhookSecretSet: req.provider?.webhookSecret !== undefined },
      models,
      ...nextRigSettings(DEFAULT_RIG_SETTINGS, req),
    };
    if (auth.kind !== 'none') await this.check(rig, secret);
    else if (this.ctx.settings.rigAccessCheck && isProbeable(rig.gitUrl)) await probeGitRemote(rig.gitUrl, this.ctx.fetch);
    this.ctx.transaction(() => {
      // the name may have been taken while the access check ran
      if (repos.rigs.getByName(req.name)) throw new GastownError('conflict', `a rig named ${req.name} already exists`);
      repos.rigs.insert(rig);
      if (secret !== null || req.provider?.webhookSecret !== undefined)
        repos.rigs.setSecrets(rig.id, { secret, webhookSecret: req.provider?.webhookSecret ?? null }, clock.now());
      this.ctx.event({ type: 'rig.added', data: { rigId: rig.id, name: rig.name, auth: auth.kind, mergeStrategy, provider: provider.kind, models } });
    });
    return this.town.rig(rig.id);
  }

  /** Change auth, merge strategy, provider, models or settings (polecat limit, setup command, instructions). A new credential (or a new API for the current one) is checked first. */
  async update(rigId: string, req: UpdateRigRequest): Promise<Rig> {
    const { repos, clock } = this.ctx;
    const current = this.town.rig(rigId);
    const models = this.nextModels(current.models, req.models);
    const next = req.auth ? await splitAuth(req.auth) : null;
    const auth = next?.view ?? current.auth;
    const secret = next ? next.secret : repos.rigs.secrets(rigId).secret;
    const mergeStrategy = req.mergeStrategy ?? current.mergeStrategy;
    const providerInput = {
      kind: req.provider?.kind ?? current.provider.kind ?? undefined,
      apiBaseUrl: req.provider?.apiBaseUrl ?? current.provider.apiBaseUrl ?? undefined,
    };
    const provider = resolveProvider(current.gitUrl, providerInput, { authKind: auth.kind, mergeStrategy });
    const webhookSecretSet = req.provider?.webhookSecret !== undefined || current.provider.webhookSecretSet;
    const rig: Rig = { ...current, auth, mergeStrategy, provider: { ...provider, webhookSecretSet }, models, ...nextRigSettings(current, req) };
    const apiChanged = provider.apiBaseUrl !== current.provider.apiBaseUrl || provider.kind !== current.provider.kind;
    if (auth.kind !== 'none' && (next !== null || apiChanged)) await this.check(rig, secret);
    this.ctx.transaction(() => {
      repos.rigs.update(rig);
      if (next !== null || req.provider?.webhookSecret !== undefined)
        repos.rigs.setSecrets(rigId, { secret: next ? next.secret : undefined, webhookSecret: req.provider?.webhookSecret }, clock.now());
      const fields = Object.keys(req).sort();
      this.ctx.event({ type: 'rig.updated', data: { rigId, fields, auth: auth.kind, mergeStrategy } });
    });
    if (auth.kind === 'none') this.ctx.gitTokens.invalidate(rigId);
    return this.town.rig(rigId);
  }

  /**
   * The rig's models after `patch` (a value sets, null returns the role to the town's model). Each
   * value set must be one the town allows — the rig's current overrides count as allowed — else
   * 403 model_not_allowed, before anything is checked or stored.
   */
  private nextModels(current: RigModels, patch: Partial<RigModels> | undefined): RigModels {
    const allowed = townAllowedModels(this.town.town().config.models, [current.polecat, current.refinery]);
    const next = { ...current };
    for (const role of ['polecat', 'refinery'] as const) {
      const model = patch?.[role];
      if (model === undefined) continue;
      if (model !== null) assertModelAllowed(model, allowed, `body.models.${role}`);
      next[role] = model;
    }
    return next;
  }

  /** The git host client of a stored rig. */
  gitHost(rigId: string): GitHostClient {
    const rig = this.town.rig(rigId);
    return gitHostFor({ rig, secret: this.ctx.repos.rigs.secrets(rigId).secret }, this.deps());
  }

  /**
   * A git token for `rigId`, for a polecat or refinery of that rig (the mayor → 403 role_forbidden,
   * another rig → 403 token_scope; a rig without auth → 409 conflict). Event `git.token_issued`
   * (never the token).
   */
  async grantFor(agent: AgentRecord, rigId: string, source: GitTokenSource): Promise<GitTokenGrant> {
    if (agent.role !== 'polecat' && agent.role !== 'refinery') throw new GastownError('role_forbidden', `a ${agent.role} gets no git token`);
    if (agent.rigId !== rigId) throw new CredentialError('token_scope', 'an agent gets git tokens for its own rig only');
    const rig = this.town.rig(rigId);
    if (rig.auth.kind === 'none') throw new GastownError('conflict', `rig ${rig.name} needs no git token (auth none)`);
    const grant = await this.gitHost(rigId).accessToken();
    this.ctx.event({ type: 'git.token_issued', agentId: agent.id, data: { rigId, expiresAt: grant.expiresAt, source } });
    return grant;
  }

  /** The grant a starting polecat or refinery of a private rig gets with its StartAgentRequest (null: none needed). */
  async dispatchGrant(agent: AgentRecord): Promise<GitTokenGrant | null> {
    if ((agent.role !== 'polecat' && agent.role !== 'refinery') || !agent.rigId) return null;
    if (this.town.rig(agent.rigId).auth.kind === 'none') return null;
    return this.grantFor(agent, agent.rigId, 'dispatch');
  }

  private async check(rig: Rig, secret: string | null): Promise<void> {
    try {
      await gitHostFor({ rig, secret }, this.deps()).checkAccess();
    } catch (err) {
      // a grant the check minted with a credential that is not stored goes too
      this.ctx.gitTokens.invalidate(rig.id);
      this.ctx.logger.warn({ msg: 'rig access check failed', townId: this.ctx.townId, rigId: rig.id, auth: rig.auth.kind, code: codeOf(err) });
      throw err;
    }
  }

  private deps() {
    return { fetch: this.ctx.fetch, clock: this.ctx.clock, cache: this.ctx.gitTokens };
  }
}
