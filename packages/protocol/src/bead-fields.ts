/**
 * The fields a user or the mayor sets on an issue bead besides its title and body: its priority,
 * its labels and the beads it depends on. Shared by the Bead model and the bead requests.
 */
import { z } from 'zod';
import { BeadIdSchema } from './common';

export const BEAD_LIMITS = {
  /** Priorities run from 0 (most urgent) to 4 (backlog), as in Gas Town's `bd`. */
  minPriority: 0,
  maxPriority: 4,
  defaultPriority: 2,
  maxLabels: 20,
  maxLabelChars: 40,
  maxDependencies: 50,
} as const;

/** 0 (most urgent) … 4 (backlog); open beads are dispatched in priority order, then oldest first. */
export const BeadPrioritySchema = z.number().int().min(BEAD_LIMITS.minPriority).max(BEAD_LIMITS.maxPriority);
export type BeadPriority = z.infer<typeof BeadPrioritySchema>;

/** A label: lower-case letters, digits and `.`, `_`, `:`, `-`, starting with a letter or digit. */
export const BeadLabelSchema = z
  .string()
  .regex(
    new RegExp(`^[a-z0-9][a-z0-9._:-]{0,${BEAD_LIMITS.maxLabelChars - 1}}$`),
    `must be a label: lower-case letters, digits, ".", "_", ":" or "-", at most ${BEAD_LIMITS.maxLabelChars} characters`,
  );

function unique(values: readonly string[]): boolean {
  return new Set(values).size === values.length;
}

/** A bead's labels (a set: no label twice). */
export const BeadLabelsSchema = z.array(BeadLabelSchema).max(BEAD_LIMITS.maxLabels).refine(unique, 'a label appears twice');

/** The beads a bead waits for: it is not dispatched until every one of them is closed. No id twice. */
export const BeadDependsOnSchema = z.array(BeadIdSchema).max(BEAD_LIMITS.maxDependencies).refine(unique, 'a bead id appears twice');
