import {
  DEFAULT_AGENT_TOKEN_TTL_SECONDS,
  GastownError,
  LIMITS,
  type ModelListResponse,
  type Rig,
  type Town,
  type TownConfig,
  type UpdateTownConfigRequest,
} from '@gastown/protocol';
import type { TokenPolicy } from '../../auth';
import { mergeTownInstructions, NO_TOWN_INSTRUCTIONS } from '../agent-settings-rules';
import { assertModelsForProvider, mergePrices, mergeTownModels, storedProvider } from '../model-rules';
import { listProviderModels } from '../provider-models';
import type { TownContext } from './context';

/** Default sleep of an idle town container, seconds. */
export const DEFAULT_SLEEP_AFTER_SECONDS = 1800;

/** The config a new town starts with. */
export function defaultTownConfig(policy: TokenPolicy | null): TownConfig {
  return {
    provider: null,
    runtime: 'opencode',
    envVarNames: [],
    sleepAfterSeconds: DEFAULT_SLEEP_AFTER_SECONDS,
    agentTokenTtlSeconds: policy?.agentTokenTtlSeconds ?? DEFAULT_AGENT_TOKEN_TTL_SECONDS,
    models: null,
    prices: {},
    spendCap: null,
    maxPolecats: null,
    instructions: NO_TOWN_INSTRUCTIONS,
  };
}

/** TTL used for minting: the town's setting, never above the deployment's policy. */
export function effectiveTokenTtlSeconds(config: TownConfig, policy: TokenPolicy): number {
  return Math.min(config.agentTokenTtlSeconds, policy.agentTokenTtlSeconds);
}

/** Town config, ownership and rigs. */
export class TownService {
  constructor(private readonly ctx: TownContext) {}

  town(): Town {
    const town = this.ctx.repos.town.get();
    if (!town) throw new GastownError('not_found', 'town not found');
    return town;
  }

  /** The town, if `userId` owns it; otherwise not_found (a user never learns another user's town exists). */
  requireOwner(userId: string): Town {
    const town = this.ctx.repos.town.get();
    if (!town || town.ownerId !== userId) throw new GastownError('not_found', 'town not found');
    return town;
  }

  /**
   * Apply a config patch. The provider is stored without `model` (a legacy `provider.model` becomes
   * `models.default` unless the patch names one); `models` and `prices` merge (null clears or removes);
   * a town with a provider and no default model → 400 validation_failed naming `models.default`.
   */
  updateConfig(patch: UpdateTownConfigRequest): Town {
    const { repos, clock } = this.ctx;
    const current = this.town().config;
    const now = clock.now();
    const provider = patch.provider === undefined ? current.provider : patch.provider === null ? null : storedProvider(patch.provider);
    const models = mergeTownModels(current.models, patch.models, patch.provider?.model);
    assertModelsForProvider(provider, models);
    const prices = mergePrices(current.prices, patch.prices);
    const envVarNames = Object.keys(patch.envVars ?? {});
    const currentNames = new Set(repos.town.envVarNames());
    const added = envVarNames.filter((n) => patch.envVars?.[n] !== null && !currentNames.has(n));
    if (currentNames.size + added.length > LIMITS.maxEnvVars) {
      throw new GastownError('validation_failed', `envVars: a town holds at most ${LIMITS.maxEnvVars} env vars`);
    }
    this.ctx.transaction(() => {
      for (const name of envVarNames) {
        const value = patch.envVars?.[name];
        if (value === null || value === undefined) repos.town.deleteEnvVar(name);
        else repos.town.setEnvVar(name, value, now);
      }
      repos.town.updateConfig({
        ...current,
        provider,
        models,
        prices,
        spendCap: patch.spendCap === undefined ? current.spendCap : patch.spendCap,
        runtime: patch.runtime ?? current.runtime,
        sleepAfterSeconds: patch.sleepAfterSeconds ?? current.sleepAfterSeconds,
        agentTokenTtlSeconds: patch.agentTokenTtlSeconds ?? current.agentTokenTtlSeconds,
        maxPolecats: patch.maxPolecats === undefined ? current.maxPolecats : patch.maxPolecats,
        instructions: mergeTownInstructions(current.instructions, patch.instructions),
      });
      // names only: env var values never enter an event
      this.ctx.event({ type: 'town.config_updated', data: { fields: Object.keys(patch).sort(), envVarNames } });
    });
    return this.town();
  }

  /**
   * The models the town's provider lists (`{baseUrl}{modelsPath}` with the key of its env var).
   * Never an error: no provider, an unreachable one or an unreadable answer → `{source: 'none'}`.
   */
  async providerModels(): Promise<ModelListResponse> {
    const provider = this.town().config.provider;
    if (!provider) return { source: 'none', models: [] };
    const apiKey = provider.apiKeyEnvVar ? this.ctx.repos.town.envVar(provider.apiKeyEnvVar) : null;
    return listProviderModels({ fetch: this.ctx.fetch, logger: this.ctx.logger, townId: this.ctx.townId }, provider, apiKey);
  }

  listRigs(): Rig[] {
    return this.ctx.repos.rigs.list();
  }

  rig(rigId: string): Rig {
    const rig = this.ctx.repos.rigs.get(rigId);
    if (!rig) throw new GastownError('not_found', 'rig not found');
    return rig;
  }
}
