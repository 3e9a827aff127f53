/**
 * Per-town and per-rig settings of how agents run (docs/CONFIGURATION.md, "Town and rig settings"):
 * how many polecats run at once, a rig's setup command (run in each polecat's worktree before its
 * agent starts) and custom instructions per role, appended to the role's briefing.
 */
import { z } from 'zod';

/** Polecats running at once: a town's (`maxPolecats`, null → the deployment's GASTOWN_MAX_POLECATS) and a rig's (null → no limit of its own). */
export const MAX_POLECATS_LIMIT = 100;
export const MaxPolecatsSchema = z.number().int().min(1).max(MAX_POLECATS_LIMIT);

/** Custom instructions of one role: appended to its briefing (never a place for secrets: the agent reads them). */
export const MAX_INSTRUCTIONS_CHARS = 8_000;
export const RoleInstructionsTextSchema = z.string().trim().min(1).max(MAX_INSTRUCTIONS_CHARS);

/** A town's custom instructions per role (null: none). */
export const TownInstructionsSchema = z
  .object({
    mayor: RoleInstructionsTextSchema.nullable().default(null),
    polecat: RoleInstructionsTextSchema.nullable().default(null),
    refinery: RoleInstructionsTextSchema.nullable().default(null),
  })
  .strict();
export type TownInstructions = z.infer<typeof TownInstructionsSchema>;
/** A partial update: a value sets the role's instructions, null removes them, absent keeps them. */
export const TownInstructionsPatchSchema = z
  .object({
    mayor: RoleInstructionsTextSchema.nullable().optional(),
    polecat: RoleInstructionsTextSchema.nullable().optional(),
    refinery: RoleInstructionsTextSchema.nullable().optional(),
  })
  .strict();
export type TownInstructionsPatch = z.infer<typeof TownInstructionsPatchSchema>;

/** A rig's own polecat/refinery instructions: they replace the town's for that role (null: the town's). */
export const RigInstructionsSchema = z
  .object({
    polecat: RoleInstructionsTextSchema.nullable().default(null),
    refinery: RoleInstructionsTextSchema.nullable().default(null),
  })
  .strict();
export type RigInstructions = z.infer<typeof RigInstructionsSchema>;
export const RigInstructionsPatchSchema = z
  .object({
    polecat: RoleInstructionsTextSchema.nullable().optional(),
    refinery: RoleInstructionsTextSchema.nullable().optional(),
  })
  .strict();
export type RigInstructionsPatch = z.infer<typeof RigInstructionsPatchSchema>;

/**
 * A rig's setup command (`npm ci`, `make deps`): run with `/bin/sh -c` in each polecat's worktree
 * before its agent starts, as the agent's uid inside its sandbox, without the agent's broker key,
 * within `setupTimeoutSeconds`. Its output (redacted) goes to the bead's events; a non-zero exit or
 * a timeout fails the attempt with the output's tail. It is the user's: no agent can set it.
 */
export const MAX_SETUP_COMMAND_CHARS = 4_000;
export const SetupCommandSchema = z
  .string()
  .trim()
  .min(1)
  .max(MAX_SETUP_COMMAND_CHARS)
  .refine((command) => !command.includes('\0'), 'must not contain a NUL character');
export const SETUP_TIMEOUT_SECONDS = { default: 300, min: 5, max: 1800 } as const;
export const SetupTimeoutSecondsSchema = z.number().int().min(SETUP_TIMEOUT_SECONDS.min).max(SETUP_TIMEOUT_SECONDS.max);

/** What the container receives with a polecat's start (StartAgentRequest.setup). */
export const AgentSetupSchema = z.object({ command: SetupCommandSchema, timeoutSeconds: SetupTimeoutSecondsSchema }).strict();
export type AgentSetup = z.infer<typeof AgentSetupSchema>;

/** Events of a setup command on the polecat's (and so its bead's) event stream. */
export const SETUP_EVENTS = { output: 'setup.output', failed: 'setup.failed' } as const;
/** Characters of output an event or a failure message carries (the tail). */
export const SETUP_OUTPUT_TAIL_CHARS = 4_000;
