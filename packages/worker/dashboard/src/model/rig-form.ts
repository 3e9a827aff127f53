import type { CreateRigRequest, MergeStrategy, Rig, RigAuthKind } from '@gastown/protocol';

/** The add-rig form's raw values (secrets included: they live only in the form until it is sent). */
export interface RigFormValues {
  name: string;
  gitUrl: string;
  defaultBranch: string;
  authKind: RigAuthKind;
  appId: string;
  installationId: string;
  /** PEM text, from the file picker or pasted. */
  privateKey: string;
  token: string;
  mergeStrategy: MergeStrategy;
  /** '' = derive from the git URL's host. */
  providerKind: '' | 'github' | 'gitlab';
  apiBaseUrl: string;
  webhookSecret: string;
}

/** Form rows that depend on other choices. */
export type RigFormRow = 'appId' | 'installationId' | 'privateKey' | 'token' | 'webhookSecret';

/** The secret inputs: cleared after a rig is added, never filled from the server. */
export const SECRET_ROWS: readonly RigFormRow[] = ['privateKey', 'token', 'webhookSecret'];

/** Which dependent rows the form shows for these choices. Pure. */
export function visibleRows(authKind: RigAuthKind, mergeStrategy: MergeStrategy): Set<RigFormRow> {
  const rows = new Set<RigFormRow>();
  if (authKind === 'github_app') for (const r of ['appId', 'installationId', 'privateKey'] as const) rows.add(r);
  if (authKind === 'token') rows.add('token');
  if (mergeStrategy === 'pull_request') rows.add('webhookSecret');
  return rows;
}

/**
 * The create request for the form's values. Pure. Only what the chosen options use is sent: a
 * token typed before switching to "GitHub App", or a webhook secret typed before switching back to
 * direct merges, stays in the browser. The server validates the rest (its messages land next to
 * the fields).
 */
export function rigRequest(v: RigFormValues): CreateRigRequest {
  const request: CreateRigRequest = { name: v.name.trim(), gitUrl: v.gitUrl.trim(), defaultBranch: v.defaultBranch.trim() || 'main' };
  if (v.authKind === 'github_app') {
    request.auth = { kind: 'github_app', appId: v.appId.trim(), installationId: v.installationId.trim(), privateKey: v.privateKey.trim() };
  } else if (v.authKind === 'token') {
    request.auth = { kind: 'token', token: v.token.trim() };
  }
  request.mergeStrategy = v.mergeStrategy;
  const provider: NonNullable<CreateRigRequest['provider']> = {};
  if (v.providerKind !== '') provider.kind = v.providerKind;
  if (v.apiBaseUrl.trim() !== '') provider.apiBaseUrl = v.apiBaseUrl.trim().replace(/\/+$/, '');
  if (v.mergeStrategy === 'pull_request' && v.webhookSecret.trim() !== '') provider.webhookSecret = v.webhookSecret.trim();
  if (Object.keys(provider).length > 0) request.provider = provider;
  return request;
}

/** What the rigs list shows of a rig's settings (never a secret: the server sends none). Pure. */
export interface RigSettingsView {
  /** `none`, `GitHub App 123456 (installation 789)`, `token`. */
  auth: string;
  /** `sha256:1a2b3c4d`, or null for none. */
  fingerprint: string | null;
  /** `direct merge` or `pull requests`. */
  strategy: string;
  /** Pull-request rigs: whether a webhook secret is set (without one the town polls); null otherwise. */
  webhook: { set: boolean; text: string } | null;
}

const AUTH_LABEL: Record<RigAuthKind, string> = { none: 'no auth', github_app: 'GitHub App', token: 'token' };

export function rigSettingsView(rig: Pick<Rig, 'auth' | 'mergeStrategy' | 'provider'>): RigSettingsView {
  // An older server sends rigs without these fields: they mean none / direct.
  const auth = rig.auth ?? { kind: 'none', appId: null, installationId: null, fingerprint: null };
  const strategy = rig.mergeStrategy ?? 'direct';
  const ids = auth.kind === 'github_app' && auth.appId ? ` ${auth.appId}${auth.installationId ? ` (installation ${auth.installationId})` : ''}` : '';
  return {
    auth: `${AUTH_LABEL[auth.kind]}${ids}`,
    fingerprint: auth.kind === 'none' ? null : auth.fingerprint,
    strategy: strategy === 'pull_request' ? 'pull requests' : 'direct merge',
    webhook:
      strategy === 'pull_request'
        ? rig.provider?.webhookSecretSet
          ? { set: true, text: 'webhook secret set' }
          : { set: false, text: 'no webhook secret (the town polls)' }
        : null,
  };
}
