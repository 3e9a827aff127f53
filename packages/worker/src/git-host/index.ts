/** Git hosts of private rigs: the client of a rig (GitHub or GitLab), tokens, webhooks. */
import { GastownError } from '@gastown/protocol';
import { GitHubClient } from './github';
import { GitLabClient } from './gitlab';
import type { GitHostClient, GitHostDeps, RigRecordWithSecrets } from './types';

export type { CreatePullRequestInput, FetchFn, GitHostClient, GitHostDeps, PullRequestInfo, PullRequestState, RigRecordWithSecrets } from './types';
export { GitTokenCache, isReusable, reuseDeadline } from './token-cache';
export { resolveProvider, secretFingerprint, parseGitRemote, checkApiBaseUrl, type ResolvedProvider } from './provider';
export { interpretWebhook, signGitHubBody, verifyGitHubSignature, verifyGitLabToken, type WebhookChange } from './webhook';
export { pkcs1ToPkcs8Der, toPkcs8Pem } from './private-key';
export { signAppJwt } from './app-jwt';

/** The git host client of a rig (its provider must be resolved: provider.ts). */
export function gitHostFor(record: RigRecordWithSecrets, deps: GitHostDeps): GitHostClient {
  const { rig, secret } = record;
  const credentialKey = `${rig.auth.kind}:${rig.auth.appId ?? ''}:${rig.auth.installationId ?? ''}:${rig.auth.fingerprint ?? ''}:${rig.provider.apiBaseUrl ?? ''}`;
  if (rig.provider.kind === 'github') return new GitHubClient(rig, secret, deps, credentialKey);
  if (rig.provider.kind === 'gitlab') return new GitLabClient(rig, secret, deps);
  throw new GastownError('conflict', `rig ${rig.name} has no git host API (set provider.apiBaseUrl)`);
}
