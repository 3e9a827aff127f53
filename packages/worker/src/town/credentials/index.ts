/**
 * An agent's credentials over its life in the town, one concern per file:
 * - issue.ts   — a new family at each (re)dispatch (gen + 1);
 * - grant.ts   — a fresh access token to a running agent: warm send and alarm backstop;
 * - reissue.ts — the user's reissue: a new family at gen + 1 handed to the running agent, then the old ones revoked;
 * - refresh.ts — the broker's refresh, returning `{ agentId, outcome }` (its caller restarts a run after reuse);
 * - revoke.ts  — the end of a run's credentials (completion, stop, lost run, failed start, a run that ended unreported);
 * - subject.ts — the token subject and TTL of an agent, and the metadata its row keeps.
 * Storage of families and hashed refresh credentials is the auth module's CredentialService.
 */
export { grantToRunningAgent, type GrantResult, type GrantRoute } from './grant';
export { issueAtDispatch, type IssueOptions } from './issue';
export { refreshAgentCredentials, type RefreshOutcome, type RefreshResult } from './refresh';
export { reissueToRunningAgent, type ReissueHooks } from './reissue';
export { revokeRunCredentials } from './revoke';
export { agentSubject, mintTtlSeconds, tokenMetadata } from './subject';
