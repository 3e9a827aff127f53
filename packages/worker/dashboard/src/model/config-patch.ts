import type { Town } from '@gastown/protocol';

/** The settings form's raw values. */
export interface SettingsFormValues {
  providerEnabled: boolean;
  baseUrl: string;
  model: string;
  apiKeyEnvVar: string;
  runtime: string;
  sleepAfter: string;
  tokenTtl: string;
}

/** A number input's value as the API should see it: an integer, or the raw text for the server to reject. */
export function numberOrRaw(value: string): number | string {
  return /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
}

/** The config patch for what changed between `current` and the form's values. Pure. */
export function configPatch(current: Town['config'], form: SettingsFormValues): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (form.providerEnabled) {
    const provider = { kind: 'openai-compatible', baseUrl: form.baseUrl.trim(), model: form.model.trim(), apiKeyEnvVar: form.apiKeyEnvVar.trim() || null };
    const p = current.provider;
    if (!p || p.baseUrl !== provider.baseUrl || p.model !== provider.model || p.apiKeyEnvVar !== provider.apiKeyEnvVar) patch.provider = provider;
  } else if (current.provider !== null) {
    patch.provider = null;
  }
  if (form.runtime !== current.runtime) patch.runtime = form.runtime;
  const sleep = numberOrRaw(form.sleepAfter);
  if (sleep !== current.sleepAfterSeconds) patch.sleepAfterSeconds = sleep;
  const ttl = numberOrRaw(form.tokenTtl);
  if (ttl !== current.agentTokenTtlSeconds) patch.agentTokenTtlSeconds = ttl;
  return patch;
}
