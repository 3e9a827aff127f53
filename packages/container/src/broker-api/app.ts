/**
 * The local broker API the agent process (plugin, model runtime) calls on loopback:
 * tool calls and the LLM proxy, both authenticated by the per-agent broker key. The agent
 * process never holds a control-plane token or the provider key.
 */
import { BROKER_API, GastownError } from '@gastown/protocol';
import type { Clock, ProviderConfig } from '@gastown/protocol';
import { Hono } from 'hono';
import type { Logger } from '../log/logger';
import type { SecretSink } from '../log/secret-registry';
import { AgentKeyRegistry } from './agent-keys';
import type { AgentRegistration } from './agent-keys';
import { brokerKeyAuth } from './auth';
import type { BrokerEnv } from './auth';
import { errorResponse, makeErrorHandler } from './errors';
import { createLlmProxyHandler } from './llm-proxy';
import { handleToolCall } from './tools-route';

export interface BrokerApiOptions {
  logger: Logger;
  /** Used by the LLM proxy to reach the provider. */
  fetch: typeof fetch;
  /** Broker keys and provider keys are registered here for log redaction. */
  secrets?: SecretSink;
  /** The town's env (secrets): a provider's `apiKeyEnvVar` names the entry the LLM proxy sends upstream. */
  townEnv?: Readonly<Record<string, string>>;
  randomBytes?: (n: number) => Uint8Array;
  /** Times each model call (latency in its usage record). Default: the system clock. */
  clock?: Clock;
}

export interface BrokerApi {
  readonly app: Hono<BrokerEnv>;
  /** A new broker key for this agent run (replaces any previous key of the agent). */
  registerAgent(agentId: string, registration: AgentRegistration): string;
  unregisterAgent(agentId: string): boolean;
}

export function createBrokerApi(options: BrokerApiOptions): BrokerApi {
  const log = options.logger.child({ component: 'broker-api' });
  const keys = new AgentKeyRegistry(options.randomBytes, options.secrets);
  const app = new Hono<BrokerEnv>();
  app.onError(makeErrorHandler(log));
  app.notFound((c) => errorResponse(c, new GastownError('not_found', 'no such route')));

  const auth = brokerKeyAuth(keys);
  // the body limit is enforced while reading (handleToolCall → readJsonBody): hono's bodyLimit left a
  // chunked upload half-read, and the connection it answered "keep-alive" on was then closed under the client
  app.post(BROKER_API.tool, auth, handleToolCall);
  app.all(`${BROKER_API.llm}/*`, auth, createLlmProxyHandler(options.fetch, { logger: log, ...(options.clock ? { clock: options.clock } : {}) }));

  const townEnv = options.townEnv ?? {};
  function providerApiKey(provider: ProviderConfig | null): string | null {
    if (!provider?.apiKeyEnvVar) return null;
    return townEnv[provider.apiKeyEnvVar] ?? null;
  }

  return {
    app,
    registerAgent: (agentId, registration) => keys.register({ ...registration, agentId, providerApiKey: providerApiKey(registration.provider) }),
    unregisterAgent: (agentId) => keys.unregister(agentId),
  };
}
