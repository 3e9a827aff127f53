/**
 * Convoys: a named group of issue beads of one town with one goal (USER_API.convoys, .convoy; the
 * mayor's gt_sling_batch, gt_list_convoys, gt_convoy_status). Progress is how many of its beads
 * are closed; the convoy lands once every one is (status `landed`, town event `convoy.landed`,
 * recorded once). A cancelled convoy stays as it is; its beads are not touched.
 */
import { z } from 'zod';
import { BeadLabelsSchema, BeadPrioritySchema } from './bead-fields';
import { BeadIdSchema, IdSchema, RigIdSchema, TextSchema, TitleSchema, TownIdSchema } from './common';
import { ModelIdSchema } from './model-config';
import { BeadSchema } from './models';
import { PageCursorSchema, PageLimitSchema } from './user-api';

export const CONVOY_LIMITS = {
  /** Beads in one convoy. */
  maxBeads: 100,
  /** Beads one gt_sling_batch creates. */
  maxBatchBeads: 20,
  /** Convoys gt_list_convoys returns (oldest first). */
  maxListed: 100,
} as const;

/** The town event recorded once when a convoy lands. */
export const CONVOY_LANDED_EVENT = 'convoy.landed';

/** `cv_…` */
export const ConvoyIdSchema = IdSchema;
export const ConvoyStatusSchema = z.enum(['open', 'landed', 'cancelled']);
export type ConvoyStatus = z.infer<typeof ConvoyStatusSchema>;

function unique(values: readonly unknown[]): boolean {
  return new Set(values).size === values.length;
}

/** A convoy's beads: issue beads of its town, no id twice. */
export const ConvoyBeadIdsSchema = z.array(BeadIdSchema).min(1).max(CONVOY_LIMITS.maxBeads).refine(unique, 'a bead id appears twice');

export const ConvoyProgressSchema = z.object({
  /** Beads of the convoy that are closed. */
  closed: z.number().int().min(0),
  /** Beads of the convoy (a deleted bead leaves its convoy). */
  total: z.number().int().min(0),
});
export type ConvoyProgress = z.infer<typeof ConvoyProgressSchema>;

export const ConvoySchema = z.object({
  id: ConvoyIdSchema,
  townId: TownIdSchema,
  name: z.string(),
  goal: z.string(),
  /** In the order they were added. */
  beadIds: z.array(BeadIdSchema),
  status: ConvoyStatusSchema,
  progress: ConvoyProgressSchema,
  /** `user`, or the id of the agent (the mayor) that created it. */
  createdBy: z.string(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  landedAt: z.number().int().nullable(),
});
export type Convoy = z.infer<typeof ConvoySchema>;

// ---- user API ----------------------------------------------------------------

/** `POST /api/towns/:townId/convoys`: a new open convoy of existing issue beads of this town. */
export const CreateConvoyRequestSchema = z
  .object({
    name: TitleSchema,
    goal: TextSchema.default(''),
    beadIds: ConvoyBeadIdsSchema,
  })
  .strict();
export type CreateConvoyRequest = z.input<typeof CreateConvoyRequestSchema>;

/**
 * `PATCH /api/towns/:townId/convoys/:convoyId`: what the request names changes. `addBeadIds` /
 * `removeBeadIds` change the membership of an open convoy (409 once it landed or was cancelled);
 * `status: 'cancelled'` cancels an open convoy (its beads are not touched).
 */
export const UpdateConvoyRequestSchema = z
  .object({
    name: TitleSchema.optional(),
    goal: TextSchema.optional(),
    addBeadIds: z.array(BeadIdSchema).min(1).max(CONVOY_LIMITS.maxBeads).refine(unique, 'a bead id appears twice').optional(),
    removeBeadIds: z.array(BeadIdSchema).min(1).max(CONVOY_LIMITS.maxBeads).refine(unique, 'a bead id appears twice').optional(),
    status: z.literal('cancelled').optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');
export type UpdateConvoyRequest = z.input<typeof UpdateConvoyRequestSchema>;

export const ConvoyListQuerySchema = z
  .object({ status: ConvoyStatusSchema.optional(), limit: PageLimitSchema.optional(), cursor: PageCursorSchema.optional() })
  .strict();
export type ConvoyListQuery = z.input<typeof ConvoyListQuerySchema>;
export const ConvoyListResponseSchema = z.object({ convoys: z.array(ConvoySchema), nextCursor: z.string().nullable().default(null) });
export type ConvoyListResponse = z.infer<typeof ConvoyListResponseSchema>;

export const ConvoyResponseSchema = z.object({ convoy: ConvoySchema });
export type ConvoyResponse = z.infer<typeof ConvoyResponseSchema>;

/** `GET …/convoys/:convoyId` and gt_convoy_status: the convoy with its beads (in the convoy's order). */
export const ConvoyDetailResponseSchema = z.object({ convoy: ConvoySchema, beads: z.array(BeadSchema) });
export type ConvoyDetailResponse = z.infer<typeof ConvoyDetailResponseSchema>;

/** `DELETE …/convoys/:convoyId`: the convoy is gone; its beads stay. */
export const DeleteConvoyResponseSchema = z.object({ deleted: z.literal(true), convoyId: ConvoyIdSchema });
export type DeleteConvoyResponse = z.infer<typeof DeleteConvoyResponseSchema>;

// ---- mayor tools ---------------------------------------------------------------

/** A dependency of a batch bead: a bead of the town, or the index (from 0) of an earlier bead of the same batch. */
export const BatchDependencySchema = z.union([
  BeadIdSchema,
  z
    .number()
    .int()
    .min(0)
    .max(CONVOY_LIMITS.maxBatchBeads - 1),
]);

export const SlingBatchBeadSchema = z
  .object({
    rigId: RigIdSchema,
    title: TitleSchema,
    body: TextSchema.default(''),
    model: ModelIdSchema.optional(),
    priority: BeadPrioritySchema.optional(),
    labels: BeadLabelsSchema.optional(),
    dependsOn: z.array(BatchDependencySchema).max(50).refine(unique, 'a dependency appears twice').optional(),
  })
  .strict();
export type SlingBatchBead = z.input<typeof SlingBatchBeadSchema>;

/**
 * gt_sling_batch: several beads and one convoy of them, in one step (all or nothing). A bead's
 * `dependsOn` may name an earlier bead of the batch by its index (0 = the first).
 */
export const SlingBatchArgsSchema = z
  .object({
    name: TitleSchema,
    goal: TextSchema.default(''),
    beads: z.array(SlingBatchBeadSchema).min(1).max(CONVOY_LIMITS.maxBatchBeads),
  })
  .strict()
  .superRefine((v, ctx) => {
    v.beads.forEach((bead, i) => {
      for (const dep of bead.dependsOn ?? []) {
        if (typeof dep === 'number' && dep >= i)
          ctx.addIssue({ code: 'custom', path: ['beads', i, 'dependsOn'], message: `index ${dep} is not an earlier bead of the batch (this is bead ${i})` });
      }
    });
  });
export const SlingBatchResultSchema = z.object({ convoy: ConvoySchema, beads: z.array(BeadSchema) });

export const ListConvoysArgsSchema = z.object({ status: ConvoyStatusSchema.optional() }).strict();
export const ConvoyStatusArgsSchema = z.object({ convoyId: ConvoyIdSchema }).strict();
