export { startStack, findStackProcesses, type Stack, type StackOptions, type StackLogs, type StopReport } from './stack';
export { generateStackKeys, workerSecrets, secretValues, formatEnvFile, parseEnvFile, StackKeysSchema, type StackKeys } from './keys';
export { UserApi, HostApi, createUserToken, requestJson, errorCodeOf, type HostTownState, type HostInboundRecord, type HttpResult } from './clients';
export { StackError, StackHttpError, type StackErrorCode } from './errors';
export { killStackProcesses, type StackProcess } from './orphans';
export { freePort, portInUse, waitForHttpOk } from './net';
export { REPO_ROOT, WORKER_DIR } from './commands';
