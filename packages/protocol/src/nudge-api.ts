/**
 * Nudge: a short message to a running agent that it sees at its next turn without a turn being
 * started for it (`POST USER_API.nudgeAgent`, the mayor's `gt_nudge`, `gastown agent nudge`). The
 * container adds it to the agent's session as a message that asks for no reply (docs/API.md).
 */
import { z } from 'zod';
import { AgentIdSchema } from './common';
import { AgentSchema } from './models';

export const MAX_NUDGE_CHARS = 2_000;
export const NudgeTextSchema = z.string().trim().min(1).max(MAX_NUDGE_CHARS);

/** `POST /api/towns/:townId/agents/:agentId/nudge`. */
export const NudgeAgentRequestSchema = z.object({ text: NudgeTextSchema }).strict();
export type NudgeAgentRequest = z.infer<typeof NudgeAgentRequestSchema>;
/** The container took the nudge: the agent sees it at its next model call. */
export const NudgeAgentResponseSchema = z.object({ agent: AgentSchema, delivered: z.literal(true) });
export type NudgeAgentResponse = z.infer<typeof NudgeAgentResponseSchema>;

/** Mayor tool `gt_nudge`. */
export const NudgeArgsSchema = z.object({ agentId: AgentIdSchema, text: NudgeTextSchema }).strict();

/** Container control API `POST /agents/:agentId/nudge` (the text already says who nudges). */
export const ContainerNudgeRequestSchema = z
  .object({
    text: z
      .string()
      .min(1)
      .max(MAX_NUDGE_CHARS + 200),
  })
  .strict();
export type ContainerNudgeRequest = z.infer<typeof ContainerNudgeRequestSchema>;

/** How a nudge reads to the agent: who sent it, then the text. */
export function nudgeText(from: string, text: string): string {
  return `[nudge from ${from}] ${text}`;
}
