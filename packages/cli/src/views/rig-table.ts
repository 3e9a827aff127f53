/**
 * The `gastown rig list` table and the one-line summary `rig add`/`rig update` print. Pure: rigs
 * in, cells out. A rig view never holds a secret; what is shown of its authentication is the kind
 * and the fingerprint the server computed.
 */
import { WEBHOOK_ROUTE, routePath, type Rig } from '@gastown/protocol';
import type { Cell, Column } from '../output/table';
import { redactUrlCredentials } from '../output/redact';
import { formatTimestamp } from '../output/time';
import { authKindLabel, strategyLabel } from '../rig/rig-labels';

export const RIG_COLUMNS: readonly Column[] = [
  { header: 'ID' },
  { header: 'NAME' },
  { header: 'BRANCH' },
  { header: 'GIT URL' },
  { header: 'AUTH' },
  { header: 'MERGE' },
  { header: 'WEBHOOK' },
  { header: 'CREATED' },
];

/** The columns, with MODELS before CREATED when some rig has its own models. */
export function rigColumns(withModels: boolean): readonly Column[] {
  return withModels ? [...RIG_COLUMNS.slice(0, -1), { header: 'MODELS' }, ...RIG_COLUMNS.slice(-1)] : RIG_COLUMNS;
}

/** A rig whose models are not (all) the town's. */
export function hasOwnModels(rig: Rig): boolean {
  return rig.models.polecat !== null || rig.models.refinery !== null;
}

/** `polecat=claude-haiku-4-5 refinery=-` (`-`: the town's), or `-` when the rig has none of its own. */
export function modelsText(rig: Rig): string {
  if (!hasOwnModels(rig)) return '-';
  return `polecat=${rig.models.polecat ?? '-'} refinery=${rig.models.refinery ?? '-'}`;
}

/** `none`, `github-app sha256:1a2b3c4d`, `token sha256:…`. */
export function authText(rig: Rig): string {
  const { kind, fingerprint } = rig.auth;
  return kind === 'none' || fingerprint === null ? authKindLabel(kind) : `${authKindLabel(kind)} ${fingerprint}`;
}

/** Pull-request rigs only: whether a webhook secret is set (without one the town polls). */
export function webhookCell(rig: Rig): Cell {
  if (rig.mergeStrategy !== 'pull_request') return '-';
  return rig.provider.webhookSecretSet ? 'set' : { text: 'not set', colour: 'yellow' };
}

export function rigRow(rig: Rig, withModels = false): Cell[] {
  return [
    rig.id,
    rig.name,
    rig.defaultBranch,
    redactUrlCredentials(rig.gitUrl),
    authText(rig),
    strategyLabel(rig.mergeStrategy),
    webhookCell(rig),
    ...(withModels ? [modelsText(rig)] : []),
    formatTimestamp(rig.createdAt),
  ];
}

/** `auth github-app sha256:1a2b3c4d (app 123, installation 456) · merge pull-request · webhook secret set`. */
export function rigSettingsLine(rig: Rig): string {
  const app = rig.auth.kind === 'github_app' && rig.auth.appId ? ` (app ${rig.auth.appId}, installation ${rig.auth.installationId ?? '?'})` : '';
  const parts = [`auth ${authText(rig)}${app}`, `merge ${strategyLabel(rig.mergeStrategy)}`];
  if (rig.mergeStrategy === 'pull_request') parts.push(rig.provider.webhookSecretSet ? 'webhook secret set' : 'no webhook secret');
  if (hasOwnModels(rig)) parts.push(`models ${modelsText(rig)}`);
  return parts.join(' · ');
}

/**
 * Where a pull-request rig's webhook goes (`<server>/webhooks/github/towns/<town>/rigs/<rig>`),
 * or null when the provider is unknown.
 */
export function webhookUrl(baseUrl: string, rig: Rig): string | null {
  const provider = rig.provider.kind;
  if (provider === null) return null;
  return `${baseUrl}${routePath(WEBHOOK_ROUTE, { provider, townId: rig.townId, rigId: rig.id })}`;
}
