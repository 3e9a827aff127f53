/**
 * The models an agent run uses, from its start request: `runtime.model` (its role's, rig's or
 * bead's), else the legacy `provider.model` of an older control plane; `smallModel` (titles and
 * summaries) defaults to the model. A request naming neither is a configuration error.
 */
import { GastownError, type ProviderConfig } from '@gastown/protocol';

export interface RuntimeModels {
  model: string;
  smallModel: string;
}

export interface RuntimeModelSource {
  model?: string | undefined;
  smallModel?: string | undefined;
  provider: Pick<ProviderConfig, 'model'>;
}

export function runtimeModels(runtime: RuntimeModelSource): RuntimeModels {
  const model = runtime.model ?? runtime.provider.model;
  if (model === undefined) throw new GastownError('config_invalid', 'the start request names no model (neither runtime.model nor runtime.provider.model)');
  return { model, smallModel: runtime.smallModel ?? model };
}

/** The models the agent may name at the model proxy: its model and small model, once each. */
export function allowedRuntimeModels(models: RuntimeModels): string[] {
  return [...new Set([models.model, models.smallModel])];
}
