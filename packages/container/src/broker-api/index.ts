export { createBrokerApi } from './app';
export type { BrokerApi, BrokerApiOptions } from './app';
export { startBrokerServer } from './server';
export type { BrokerServer } from './server';
export { AgentKeyRegistry, BROKER_KEY_PREFIX } from './agent-keys';
export type { AgentRegistration, RegisteredAgent } from './agent-keys';
export { AGENT_ID_HEADER, DEFAULT_ANTHROPIC_VERSION, createLlmProxyHandler, upstreamUrl } from './llm-proxy';
export type { LlmProxyOptions } from './llm-proxy';
export type { BrokerEnv } from './auth';
