/** Bearer broker-key authentication: a thin adapter over AgentKeyRegistry.lookup. */
import { GastownError } from '@gastown/protocol';
import type { MiddlewareHandler } from 'hono';
import type { AgentKeyRegistry, RegisteredAgent } from './agent-keys';

export type BrokerEnv = { Variables: { agent: RegisteredAgent } };

export function brokerKeyAuth(keys: AgentKeyRegistry): MiddlewareHandler<BrokerEnv> {
  return async function authenticateBrokerKey(c, next) {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const agent = match?.[1] ? keys.lookup(match[1]) : null;
    if (agent === null) throw new GastownError('broker_unauthorized', match ? 'unknown broker key' : 'missing broker key');
    c.set('agent', agent);
    await next();
  };
}
