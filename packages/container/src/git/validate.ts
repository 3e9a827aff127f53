import {
  AgentIdSchema,
  BeadIdSchema,
  BranchNameSchema,
  CommitShaSchema,
  GastownError,
  GitUrlSchema,
  RigRefSchema,
  gitUrlProblem,
  type RigRef,
} from '@gastown/protocol';
import type { z } from 'zod';

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new GastownError('validation_failed', `invalid ${what}`);
  return parsed.data;
}

/** A branch name that is safe to hand to git (never an option, never a path escape). */
export function validBranch(value: unknown): string {
  return parseOrThrow(BranchNameSchema, value, 'branch name');
}

/**
 * A rig remote URL. Beyond the protocol schema: an http(s) URL must not carry userinfo,
 * because git would persist it in the repository config (credentials never go there).
 */
export function validGitUrl(value: unknown): string {
  const url = parseOrThrow(GitUrlSchema, value, 'git URL');
  if (/^https?:\/\/[^/]*@/i.test(url)) throw new GastownError('validation_failed', 'invalid git URL: credentials in the URL are not allowed');
  // the protocol's further rules (dash-leading hosts, passwords in ssh URLs, invisible characters)
  const problem = gitUrlProblem(url);
  if (problem) throw new GastownError('validation_failed', `invalid git URL: ${problem}`);
  return url;
}

export function validRig(value: unknown): RigRef {
  const rig = parseOrThrow(RigRefSchema, value, 'rig');
  validGitUrl(rig.gitUrl);
  // git asks the credential helper only over http(s)
  if (rig.auth !== 'none' && !/^https?:\/\//i.test(rig.gitUrl)) {
    throw new GastownError('validation_failed', 'invalid rig: a rig with git credentials needs an http(s) git URL');
  }
  return rig;
}

export function validAgentId(value: unknown): string {
  return parseOrThrow(AgentIdSchema, value, 'agent id');
}

export function validBeadId(value: unknown): string {
  return parseOrThrow(BeadIdSchema, value, 'bead id');
}

/** The branch a polecat works on. Ids are validated, so the result is a valid branch name. */
export function agentBranch(agentId: string, beadId: string): string {
  return validBranch(`gt/${validAgentId(agentId)}/${validBeadId(beadId)}`);
}

/** The agent and bead of a polecat branch `gt/<agentId>/<beadId>`, or null for any other branch. */
export function branchOwner(branch: string): { agentId: string; beadId: string } | null {
  const match = /^gt\/([^/]+)\/([^/]+)$/.exec(branch);
  if (!match) return null;
  try {
    return { agentId: validAgentId(match[1]), beadId: validBeadId(match[2]) };
  } catch {
    return null;
  }
}

/** A full commit id (40 lower-case hex digits). */
export function validCommit(value: unknown): string {
  return parseOrThrow(CommitShaSchema, value, 'commit id');
}
