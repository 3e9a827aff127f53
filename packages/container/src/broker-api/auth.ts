/**
 * Broker-key authentication: a thin adapter over AgentKeyRegistry.lookup. The key comes as
 * `Authorization: Bearer <key>` (plugin, OpenAI-compatible clients) or `x-api-key: <key>` (the
 * Anthropic client). Neither header is ever forwarded anywhere (llm-proxy drops both).
 */
import { GastownError } from '@gastown/protocol';
import type { MiddlewareHandler } from 'hono';
import type { AgentKeyRegistry, RegisteredAgent } from './agent-keys';

export type BrokerEnv = { Variables: { agent: RegisteredAgent } };

/** The keys a request presents, in the order they are tried. */
function presentedKeys(authorization: string | undefined, apiKey: string | undefined): string[] {
  const keys: string[] = [];
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (bearer) keys.push(bearer);
  const plain = apiKey?.trim();
  if (plain) keys.push(plain);
  return keys;
}

export function brokerKeyAuth(keys: AgentKeyRegistry): MiddlewareHandler<BrokerEnv> {
  return async function authenticateBrokerKey(c, next) {
    const presented = presentedKeys(c.req.header('authorization'), c.req.header('x-api-key'));
    let agent: RegisteredAgent | null = null;
    for (const key of presented) agent ??= keys.lookup(key);
    if (agent === null) throw new GastownError('broker_unauthorized', presented.length > 0 ? 'unknown broker key' : 'missing broker key');
    c.set('agent', agent);
    await next();
  };
}
