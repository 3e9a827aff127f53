/** Create a town wired to the fake LLM, with one rig backed by a local bare repository. */
import type { Rig, Town, UpdateTownConfigRequest } from '@gastown/protocol';
import type { UserApi } from './clients';

/** Town env var that holds the fake LLM's API key (the container's LLM proxy adds it). */
export const FAKE_LLM_KEY_VAR = 'FAKE_LLM_API_KEY';
export const FAKE_LLM_MODEL = 'fake-model';

export interface TownSetup {
  name: string;
  llmUrl: string;
  llmApiKey: string;
  rig: { name: string; gitUrl: string; defaultBranch: string };
  agentTokenTtlSeconds?: number;
  sleepAfterSeconds?: number;
}

export async function setupTown(api: UserApi, setup: TownSetup): Promise<{ town: Town; rig: Rig }> {
  const created = await api.createTown(setup.name);
  const patch: UpdateTownConfigRequest = {
    provider: { kind: 'openai-compatible', baseUrl: setup.llmUrl, model: FAKE_LLM_MODEL, apiKeyEnvVar: FAKE_LLM_KEY_VAR },
    envVars: { [FAKE_LLM_KEY_VAR]: setup.llmApiKey },
    ...(setup.agentTokenTtlSeconds !== undefined ? { agentTokenTtlSeconds: setup.agentTokenTtlSeconds } : {}),
    ...(setup.sleepAfterSeconds !== undefined ? { sleepAfterSeconds: setup.sleepAfterSeconds } : {}),
  };
  const town = await api.updateConfig(created.id, patch);
  const rig = await api.createRig(town.id, setup.rig);
  return { town, rig };
}
