export { CliGitWorkspace, type CliGitWorkspaceOptions, type GitWorkspace, type MergeOutcome } from './git-workspace';
export { createExecGitRunner, GitCommandError, redactUrls, type GitResult, type GitRunner, type GitRunOptions } from './git-runner';
export { gitEnvironment, prepareGitHome, GIT_USER_EMAIL, GIT_USER_NAME } from './git-env';
export { KeyedQueue } from './keyed-queue';
export { agentBranch, branchOwner, validBranch, validCommit, validGitUrl, validRig } from './validate';
export { AGENT_FETCH_REFSPECS, REVIEW_REF_PREFIX, reviewRef } from './agent-repo';
export {
  GitTokenBroker,
  GIT_CREDENTIALS_EXPIRED_EVENT,
  GIT_CREDENTIALS_RECOVERED_EVENT,
  type GitCredential,
  type GitTokenBrokerOptions,
  type GitTokenBrokerStatus,
  type GitTokenSource,
} from './git-token-broker';
export { GitTokenRegistry, type GitTokenRegistryOptions } from './git-token-registry';
export { startGitCredentialServer, CREDENTIAL_SOCKET_NAME, type GitCredentialServer, type GitCredentialServerOptions } from './credential-server';
export { RigGitAuth, CREDENTIAL_HELPER_PATH, credentialHelperCommand, type RigGitAuthOptions } from './rig-git-auth';
export { isAuthFailure, matchesRigUrl } from './credential-protocol';
