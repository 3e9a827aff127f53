/** `POST /broker/tools/:tool`: validate the args with the protocol's table, call the control plane as the agent. */
import { GastownError, TOOLS, ToolNameSchema } from '@gastown/protocol';
import type { Context } from 'hono';
import { readJsonBody } from '../server/json-body';
import type { BrokerEnv } from './auth';

function summarise(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || 'args'}: ${i.message}`)
    .join('; ')
    .slice(0, 500);
}

export async function handleToolCall(c: Context<BrokerEnv>): Promise<Response> {
  const name = ToolNameSchema.safeParse(c.req.param('tool'));
  if (!name.success) throw new GastownError('not_found', 'unknown tool');
  // the control API's reader: size limit (declared and actual, the stream cancelled at the limit),
  // 415 unless application/json, 400 bad_json for bytes that are not UTF-8 or not JSON; empty → {}
  const read = await readJsonBody(c);
  const body = read === undefined ? {} : read;
  const args = TOOLS[name.data].args.safeParse(body);
  if (!args.success) throw new GastownError('validation_failed', `invalid arguments for ${name.data}: ${summarise(args.error.issues)}`);
  const result = await c.get('agent').client.tool(name.data, args.data);
  return c.json(result as object);
}
