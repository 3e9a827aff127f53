export { AgentSupervisor } from './agent-supervisor';
export { AgentRun } from './agent-run';
export { MayorSession, type MayorSessionDeps, type SessionSaveSummary } from './mayor-session';
export { credentialEvents, type CredentialEvent } from './credential-events';
export { recordFor } from './runtime-events';
export { parseBody } from './parse';
export { runMerge } from './merge-job';
export type { AgentControl, StartAgent, SupervisorDeps, SupervisorSettings } from './types';
