/**
 * Deleting a rig or a whole town (DELETE USER_API.rig, DELETE USER_API.town), and the container
 * control call that removes a rig's workspaces (CONTAINER_API.removeRig).
 */
import { z } from 'zod';
import { AgentIdSchema, BeadIdSchema, RigIdSchema, TownIdSchema } from './common';

/** What became of the rig's workspaces in the town's container. */
export const WorkspaceRemovalSchema = z.enum([
  /** The container removed the rig's mirror and its agents' repositories. */
  'removed',
  /** No container was running: nothing to remove (a sleeping Cloudflare container keeps no disk). */
  'container_asleep',
  /** The container could not be told (the rig is deleted anyway; the message is in the town's events). */
  'failed',
]);
export type WorkspaceRemoval = z.infer<typeof WorkspaceRemovalSchema>;

/** `DELETE /api/towns/:townId/rigs/:rigId`: the rig is gone; its open work was cancelled, its agents stopped. */
export const DeleteRigResponseSchema = z
  .object({
    deleted: z.literal(true),
    rigId: RigIdSchema,
    /** Issue beads (and merge requests) of the rig that were open or in progress: now closed with metadata `{cancelled: true, reason}`. */
    cancelledBeadIds: z.array(BeadIdSchema),
    /** Agents of the rig that were stopped (their credentials revoked). */
    stoppedAgentIds: z.array(AgentIdSchema),
    workspaces: WorkspaceRemovalSchema,
  })
  .strict();
export type DeleteRigResponse = z.infer<typeof DeleteRigResponseSchema>;

/** `DELETE /api/towns/:townId`: the town and everything of it is gone; its id answers 404, its tokens 401. */
export const DeleteTownResponseSchema = z
  .object({
    deleted: z.literal(true),
    townId: TownIdSchema,
    /** Whether a container was running (it was stopped and its data removed). */
    containerWasRunning: z.boolean(),
    /** Stored session snapshots removed from object storage. */
    sessionObjectsRemoved: z.number().int().nonnegative(),
  })
  .strict();
export type DeleteTownResponse = z.infer<typeof DeleteTownResponseSchema>;

/** `POST CONTAINER_API.removeRig`: the rig's mirror and these agents' repositories (worktrees, clones) are removed. */
export const RemoveRigWorkspacesRequestSchema = z
  .object({
    agentIds: z.array(AgentIdSchema).max(1000),
  })
  .strict();
export type RemoveRigWorkspacesRequest = z.infer<typeof RemoveRigWorkspacesRequestSchema>;
export const RemoveRigWorkspacesResponseSchema = z.object({ removed: z.number().int().nonnegative() }).strict();
export type RemoveRigWorkspacesResponse = z.infer<typeof RemoveRigWorkspacesResponseSchema>;
