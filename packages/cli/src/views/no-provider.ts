/**
 * What to say when a town has no model provider (nothing can run): the town by name, the
 * commands that set one up — in the order the server accepts them (a provider needs a default
 * model first) — and the dashboard's Settings tab. Pure: a town in, text out.
 */
import type { Town } from '@gastown/protocol';
import { townModels } from './town-config-view';

/** A provider kind, its key's env var and a model, as the example in the hint. */
const EXAMPLE = { kind: 'anthropic', keyVar: 'ANTHROPIC_API_KEY', model: 'claude-sonnet-4-5' } as const;

/** True when the town cannot run an agent for want of a provider or a default model. */
export function lacksModelProvider(town: Pick<Town, 'config'>): boolean {
  return !town.config.provider || townModels(town.config) === null;
}

/** `town my-town (town_x) has no model provider: no agent can run until it has one`. */
export function noProviderMessage(town: Pick<Town, 'id' | 'name' | 'config'>): string {
  const missing = town.config.provider ? 'no default model' : 'no model provider';
  return `town ${town.name} (${town.id}) has ${missing}: no agent can run until it has one`;
}

/** The copy-paste commands and the dashboard tab (several lines). */
export function noProviderHint(town: Pick<Town, 'name' | 'config'>): string {
  const t = `--town ${town.name}`;
  const steps: string[] = [];
  if (townModels(town.config) === null) steps.push(`gastown config set models.default ${EXAMPLE.model} ${t}`);
  if (!town.config.provider) steps.push(`gastown config set provider.kind ${EXAMPLE.kind} ${t}     # or openai, openrouter, kilo`);
  const keyVar = town.config.provider ? town.config.provider.apiKeyEnvVar : EXAMPLE.keyVar;
  if (keyVar !== null && !town.config.envVarNames.includes(keyVar))
    steps.push(`printf %s "$${keyVar}" | gastown env set ${keyVar} ${t}   # the key, from stdin`);
  return [
    'set one up from the CLI:',
    ...steps.map((s) => `  ${s}`),
    `or in the dashboard: open town ${town.name}, Settings tab (docs/CLI.md, "gastown config set")`,
  ].join('\n');
}
