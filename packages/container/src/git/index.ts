export { CliGitWorkspace, type CliGitWorkspaceOptions, type GitWorkspace, type MergeOutcome } from './git-workspace';
export { createExecGitRunner, GitCommandError, redactUrls, type GitResult, type GitRunner, type GitRunOptions } from './git-runner';
export { gitEnvironment, prepareGitHome, GIT_USER_EMAIL, GIT_USER_NAME } from './git-env';
export { KeyedQueue } from './keyed-queue';
export { agentBranch, branchOwner, validBranch, validCommit, validGitUrl, validRig } from './validate';
export { AGENT_FETCH_REFSPECS, REVIEW_REF_PREFIX, reviewRef } from './agent-repo';
