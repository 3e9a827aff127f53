export { CliGitWorkspace, type CliGitWorkspaceOptions, type GitWorkspace, type MergeOutcome } from './git-workspace';
export { createExecGitRunner, GitCommandError, redactUrls, type GitResult, type GitRunner, type GitRunOptions } from './git-runner';
export { gitEnvironment, prepareGitHome, GIT_USER_EMAIL, GIT_USER_NAME } from './git-env';
export { KeyedQueue } from './keyed-queue';
export { agentBranch, validBranch, validGitUrl, validRig } from './validate';
