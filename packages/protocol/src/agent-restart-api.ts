/** `POST USER_API.restartAgent`: a new run of the agent (gen + 1, a new credential family); a polecat keeps its bead. */
import { z } from 'zod';
import { AgentSchema } from './models';

/** No fields; an empty body is fine. */
export const RestartAgentRequestSchema = z.object({}).strict();
export type RestartAgentRequest = z.infer<typeof RestartAgentRequestSchema>;

export const RestartAgentResponseSchema = z
  .object({
    agent: AgentSchema,
    /** The generation the agent had before; `agent.gen` is at least one more (its old tokens answer 401). */
    previousGen: z.number().int().nonnegative(),
  })
  .strict();
export type RestartAgentResponse = z.infer<typeof RestartAgentResponseSchema>;
