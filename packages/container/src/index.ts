/**
 * @gastown/container — the town container: control server, agent supervisor, credential
 * broker, consumers, git and runtime adapters. Entry point of the process: src/main.ts.
 */
export type * from './contracts';
export type { BrokerFactory, BrokerOptions, CredentialBroker } from './broker/credential-broker';
export type { ControlPlaneClient, ControlPlaneClientFactory, ControlPlaneClientOptions, StoredSnapshot } from './broker/control-plane-client';
export type { EventSink, EventSinkFactory, EventSinkOptions } from './consumers/event-sink';
export type { HeartbeatLoop, HeartbeatLoopFactory, HeartbeatLoopOptions } from './consumers/heartbeat-loop';
export type { AgentRegistration } from './broker-api/agent-keys';
export { loadConfig, scrubProcessEnv, townEnvFrom, DEFAULT_PLUGIN_PATH, type ContainerConfig, type LoadConfigOptions } from './config';
export { startContainer, runMain, READY_LINE_PREFIX, type ContainerHandle, type StartContainerOptions } from './main';
export * from './git';
export * from './supervisor';
export * from './server';
// The modules themselves, namespaced (their interfaces are exported by name above).
export * as broker from './broker';
export * as brokerApi from './broker-api';
export * as consumers from './consumers';
export * as log from './log';
export * as runtime from './runtime';
