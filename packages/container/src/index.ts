/**
 * @gastown/container — the town container: control server, agent supervisor, credential
 * broker, consumers, git and runtime adapters. Entry point of the process: src/main.ts.
 */
export type * from './contracts';
export { loadConfig, scrubProcessEnv, townEnvFrom, TOWN_ENV_PREFIX, DEFAULT_PLUGIN_PATH, type ContainerConfig, type LoadConfigOptions } from './config';
export { startContainer, runMain, READY_LINE_PREFIX, type ContainerHandle, type StartContainerOptions } from './main';
export * from './git';
export * from './supervisor';
export * from './server';
// Other engineers' modules, namespaced to keep their names apart from the contract types.
export * as broker from './broker';
export * as brokerApi from './broker-api';
export * as consumers from './consumers';
export * as log from './log';
export * as runtime from './runtime';
