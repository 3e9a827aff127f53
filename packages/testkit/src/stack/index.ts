export { startStack, findStackProcesses, type Stack, type StackOptions, type StackLogs, type StopReport, type UnexpectedExit } from './stack';
export { generateStackKeys, workerSecrets, secretValues, formatEnvFile, parseEnvFile, StackKeysSchema, type StackKeys } from './keys';
export { UserApi, HostApi, createUserToken, requestJson, errorCodeOf, type HostTownState, type HostInboundRecord, type HttpResult } from './clients';
export { StackError, StackHttpError, type StackErrorCode } from './errors';
export { killStackProcesses, type StackProcess } from './orphans';
export { freePort, portInUse, waitForHttpOk } from './net';
export { REPO_ROOT, WORKER_DIR } from './commands';
export { createRigRepo, commitsOn, filesOn, fileOn, branchesOf, branchContains, git, type RigRepo, type CommitInfo } from './git-fixture';
export {
  createTownScenario,
  roleOf,
  currentTurn,
  failureCodeOf,
  UNAUTHORIZED_CODES,
  type TownScenario,
  type TownScenarioOptions,
  type ScenarioCommit,
  type ScenarioSling,
  type ScenarioApproval,
  type ScenarioNote,
  type ScenarioRole,
  type PolecatGate,
  MAX_STEPS_PER_TURN,
} from './town-scenario';
export { mintTestAgentToken, type TestAgentSubject } from './agent-tokens';
export { followTownEvents, type EventFollower } from './event-follower';
export { setupTown, FAKE_LLM_KEY_VAR, FAKE_LLM_MODEL, type TownSetup } from './town-setup';
