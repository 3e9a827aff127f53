import { z } from '@hono/zod-openapi';
import { AgentIdSchema, RigIdSchema, TownIdSchema } from '@gastown/protocol';
import { api } from './schema';

export const TownParams = z.object({ townId: api(TownIdSchema) });
export const AgentParams = z.object({ townId: api(TownIdSchema), agentId: api(AgentIdSchema) });
export const RigParams = z.object({ townId: api(TownIdSchema), rigId: api(RigIdSchema) });
