/**
 * An agent's credentials over its life in the town, one concern per file:
 * - issue.ts   — a new family at each (re)dispatch (gen + 1);
 * - grant.ts   — credentials to a running agent: warm send, alarm backstop and reissue share one function;
 * - refresh.ts — the broker's refresh, returning `{ agentId, outcome }` (its caller restarts a run after reuse);
 * - revoke.ts  — the end of a run's credentials (stop, lost run, failed start);
 * - subject.ts — the token subject and TTL of an agent, and the metadata its row keeps.
 * Storage of families and hashed refresh credentials is the auth module's CredentialService.
 */
export { grantToRunningAgent, type GrantResult, type GrantRoute, type GrantScope } from './grant';
export { issueAtDispatch, type IssueOptions } from './issue';
export { refreshAgentCredentials, type RefreshOutcome, type RefreshResult } from './refresh';
export { revokeRunCredentials } from './revoke';
export { agentSubject, mintTtlSeconds, tokenMetadata } from './subject';
