/**
 * The user API's bead requests and answers (USER_API.beads, .bead, .closeBead, .reopenBead): a
 * user creates, edits, closes, reopens and deletes issue beads. Merge requests, messages and
 * escalations stay the agents' (a request naming one is a 409 conflict).
 */
import { z } from 'zod';
import { BeadDependsOnSchema, BeadLabelsSchema, BeadPrioritySchema } from './bead-fields';
import { BeadIdSchema, RigIdSchema, TextSchema, TitleSchema } from './common';
import { BeadSchema } from './models';

/** `POST /api/towns/:townId/beads`: a new open issue bead on a rig. `dependsOn`: beads of this town (no cycle). */
export const CreateBeadRequestSchema = z
  .object({
    rigId: RigIdSchema,
    title: TitleSchema,
    body: TextSchema.default(''),
    /** Default 2. */
    priority: BeadPrioritySchema.optional(),
    labels: BeadLabelsSchema.optional(),
    dependsOn: BeadDependsOnSchema.optional(),
  })
  .strict();
export type CreateBeadRequest = z.input<typeof CreateBeadRequestSchema>;

/**
 * `PATCH /api/towns/:townId/beads/:beadId`: what the request names changes. `labels` and
 * `dependsOn` replace the whole list. `rigId` moves an open, unassigned bead to another rig.
 * A dependency that would close a cycle is refused (400 validation_failed, naming the cycle).
 */
export const UpdateBeadRequestSchema = z
  .object({
    title: TitleSchema.optional(),
    body: TextSchema.optional(),
    priority: BeadPrioritySchema.optional(),
    labels: BeadLabelsSchema.optional(),
    dependsOn: BeadDependsOnSchema.optional(),
    rigId: RigIdSchema.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');
export type UpdateBeadRequest = z.input<typeof UpdateBeadRequestSchema>;

/** `POST …/beads/:beadId/close`: an optional reason, kept in the bead's metadata and its event. */
export const CloseBeadRequestSchema = z.object({ reason: z.string().trim().max(500).optional() }).strict();
export type CloseBeadRequest = z.input<typeof CloseBeadRequestSchema>;
/** `POST …/beads/:beadId/reopen`: no fields. */
export const ReopenBeadRequestSchema = z.object({}).strict();

export const BeadResponseSchema = z.object({ bead: BeadSchema });
export type BeadResponse = z.infer<typeof BeadResponseSchema>;
/** `DELETE …/beads/:beadId`: the id of the bead that is gone. */
export const DeleteBeadResponseSchema = z.object({ deleted: z.literal(true), beadId: BeadIdSchema });
export type DeleteBeadResponse = z.infer<typeof DeleteBeadResponseSchema>;
