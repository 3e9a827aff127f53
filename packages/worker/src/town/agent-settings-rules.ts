/**
 * Per-town and per-rig agent settings (protocol agent-settings.ts): merging patches, the polecat
 * limits the reconciler applies, the custom instructions of a role and a polecat's setup command.
 * Pure functions; never a secret in here.
 */
import {
  SETUP_TIMEOUT_SECONDS,
  type AgentRole,
  type AgentSetup,
  type Rig,
  type RigInstructions,
  type RigInstructionsPatch,
  type TownConfig,
  type TownInstructions,
  type TownInstructionsPatch,
  type UpdateRigRequest,
} from '@gastown/protocol';

export const NO_TOWN_INSTRUCTIONS: TownInstructions = { mayor: null, polecat: null, refinery: null };
export const NO_RIG_INSTRUCTIONS: RigInstructions = { polecat: null, refinery: null };

/** A patch over current values: a value sets, null removes, absent keeps. */
function mergeNullable<T extends Record<string, string | null>>(current: T, patch: Partial<Record<keyof T, string | null>> | undefined): T {
  const next = { ...current };
  for (const key of Object.keys(patch ?? {}) as Array<keyof T>) {
    const value = patch?.[key];
    if (value !== undefined) next[key] = value as T[keyof T];
  }
  return next;
}

export function mergeTownInstructions(current: TownInstructions, patch: TownInstructionsPatch | undefined): TownInstructions {
  return mergeNullable(current, patch);
}

export function mergeRigInstructions(current: RigInstructions, patch: RigInstructionsPatch | undefined): RigInstructions {
  return mergeNullable(current, patch);
}

/** The settings fields of a rig after a create or update request (UpdateRigRequest's settings). */
export type RigSettings = Pick<Rig, 'maxPolecats' | 'setupCommand' | 'setupTimeoutSeconds' | 'instructions'>;
export const DEFAULT_RIG_SETTINGS: RigSettings = {
  maxPolecats: null,
  setupCommand: null,
  setupTimeoutSeconds: SETUP_TIMEOUT_SECONDS.default,
  instructions: NO_RIG_INSTRUCTIONS,
};

export function nextRigSettings(current: RigSettings, req: Pick<UpdateRigRequest, keyof RigSettings>): RigSettings {
  return {
    maxPolecats: req.maxPolecats === undefined ? current.maxPolecats : req.maxPolecats,
    setupCommand: req.setupCommand === undefined ? current.setupCommand : req.setupCommand,
    setupTimeoutSeconds: req.setupTimeoutSeconds ?? current.setupTimeoutSeconds,
    instructions: mergeRigInstructions(current.instructions, req.instructions),
  };
}

/** The rigs that limit their own polecats (rig id → limit); a rig without a limit is absent. */
export function rigPolecatLimits(rigs: readonly Pick<Rig, 'id' | 'maxPolecats'>[]): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const rig of rigs) if (rig.maxPolecats !== null) limits[rig.id] = rig.maxPolecats;
  return limits;
}

/** A role's custom instructions: the rig's own for polecat/refinery, else the town's (null: none). */
export function customInstructions(role: AgentRole, town: Pick<TownConfig, 'instructions'>, rig: Pick<Rig, 'instructions'> | null): string | null {
  if (role !== 'mayor' && rig) {
    const own = rig.instructions[role];
    if (own !== null) return own;
  }
  return town.instructions[role];
}

/** The briefing with the user's instructions appended under their own heading. */
export function withCustomInstructions(briefing: string, custom: string | null): string {
  if (custom === null || custom.trim() === '') return briefing;
  return `${briefing}\n\nInstructions from the town's owner (follow them unless they conflict with the rules above):\n${custom.trim()}`;
}

/** What a polecat's start carries of its rig's setup command (null: none). Only polecats run it. */
export function setupFor(role: AgentRole, rig: Pick<Rig, 'setupCommand' | 'setupTimeoutSeconds'> | null): AgentSetup | null {
  if (role !== 'polecat' || !rig || rig.setupCommand === null) return null;
  return { command: rig.setupCommand, timeoutSeconds: rig.setupTimeoutSeconds };
}
