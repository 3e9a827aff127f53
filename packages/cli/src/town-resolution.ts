/**
 * Which town a command acts on: `--town`/`GASTOWN_TOWN`/the config file (an id, or a name looked
 * up in the user's towns), else the user's only town.
 */
import { IdSchema, type Town } from '@gastown/protocol';
import type { ApiClient } from './client/api-client';
import type { Setting } from './config/settings';
import { CliError } from './errors';

export function isTownId(value: string): boolean {
  return value.startsWith('town_') && IdSchema.safeParse(value).success;
}

/** Pure choice among the user's towns. */
export function chooseTown(towns: readonly Town[], wanted: Setting<string | null>): Town {
  if (wanted.value !== null) {
    const byName = towns.find((t) => t.name === wanted.value || t.id === wanted.value);
    if (byName) return byName;
    throw new CliError('not_found', `no town named ${JSON.stringify(wanted.value)} (from ${wanted.origin}); see \`gastown town list\``);
  }
  if (towns.length === 1 && towns[0]) return towns[0];
  if (towns.length === 0) throw new CliError('not_found', 'you have no town yet: create one with `gastown town create <name>`');
  const names = towns.map((t) => `${t.name} (${t.id})`).join(', ');
  throw new CliError('usage', `you have ${towns.length} towns (${names}): pick one with --town <id|name> or \`gastown config set town <id>\``);
}

/** The town id to use. An id is taken as is (the server answers 404 for an unknown one). */
export async function resolveTownId(client: ApiClient, wanted: Setting<string | null>): Promise<string> {
  if (wanted.value !== null && isTownId(wanted.value)) return wanted.value;
  return chooseTown(await client.listTowns(), wanted).id;
}

/**
 * Run a call about one agent of a town. Its 404 names the agent or the town: on a 404 the town
 * is asked for, so an unknown town is reported as such rather than as an unknown agent.
 */
export async function callForAgent<T>(client: ApiClient, townId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CliError && err.code === 'not_found') await client.getTown(townId);
    throw err;
  }
}
