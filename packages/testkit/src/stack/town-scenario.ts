/**
 * The scripted town: a fake-LLM responder that plays every role of a town from the
 * conversation alone (no per-agent script), so it survives restarts, re-dispatches and any
 * number of turns. Used by `npm run demo` and the e2e tests.
 *
 * - mayor, on every user message: `gt_list_rigs` → `gt_sling` (a bead for the first rig, or
 *   `rigName`) → a short text reply (turn ends).
 * - polecat: `gt_prime` → opencode's built-in `bash` (write a file, `git add`, `git commit` on its
 *   branch, print the branch and commit) → `gt_done {branch}` → text.
 * - refinery, on every user message: `gt_prime` → `gt_list_beads` → `gt_done {branch,
 *   mergeRequestBeadId, commit}` for each open merge request of its rig (the commit the merge
 *   request names, as a reviewer passes the commit it reviewed) → text.
 *
 * A tool that fails ends the turn with a text naming the failure, so the run shows it and
 * the test's tool-result checks catch it.
 */
import {
  callTool,
  callTools,
  messageText,
  reply,
  toolResultsOf,
  type ChatMessage,
  type Responder,
  type ResponderContext,
  type SeenToolResult,
  type Turn,
} from '../fake-llm/index';

export type ScenarioRole = 'mayor' | 'polecat' | 'refinery';

/** A turn with this many tool steps ends with a text (a guard against loops). */
export const MAX_STEPS_PER_TURN = 8;

export interface ScenarioCommit {
  agentId: string;
  beadId: string;
  branch: string;
  sha: string;
  file: string;
  at: number;
}

export interface ScenarioSling {
  mayorId: string | null;
  beadId: string;
  rigId: string;
  title: string;
  at: number;
}

export interface ScenarioApproval {
  refineryId: string | null;
  mergeRequestBeadId: string;
  branch: string;
  at: number;
}

/** Something the scenario saw happen (for live output). */
export type ScenarioNote =
  | { kind: 'turn'; role: ScenarioRole; agentId: string | null; action: string }
  | { kind: 'tool_failed'; role: ScenarioRole; agentId: string | null; tool: string; content: string };

export interface TownScenarioOptions {
  /** Rig the mayor slings to, by name (default: the first rig listed). */
  rigName?: string;
  /** Title of the n-th bead the mayor slings (n from 1, per mayor conversation). */
  beadTitle?: (n: number) => string;
  now?: () => number;
  /** Called for every decision and every failed tool result. */
  onNote?: (note: ScenarioNote) => void;
}

/** Holds every polecat model request until released (to crash a container while a polecat works). */
export interface PolecatGate {
  /** Requests waiting at the gate now. */
  pending(): number;
  /** Let every waiting and future request through. */
  release(): void;
}

export interface TownScenario {
  responder: Responder;
  /** Close the polecat gate: polecat model requests wait until `release()`. */
  holdPolecats(): PolecatGate;
  readonly slings: ScenarioSling[];
  readonly commits: ScenarioCommit[];
  readonly approvals: ScenarioApproval[];
  /** Number of turns answered per role. */
  readonly turns: Record<ScenarioRole, number>;
}

/** The role, from the tools the runtime offers (the plugin registers tools per role). */
export function roleOf(toolNames: readonly string[]): ScenarioRole | null {
  if (toolNames.includes('gt_sling')) return 'mayor';
  if (toolNames.includes('gt_request_changes')) return 'refinery';
  if (toolNames.includes('gt_done')) return 'polecat';
  return null;
}

/** Messages after the last user message: the current turn. */
export function currentTurn(messages: readonly ChatMessage[]): { userText: string; turnMessages: ChatMessage[]; userMessages: number } {
  let last = -1;
  let count = 0;
  messages.forEach((m, i) => {
    if (m.role === 'user') {
      last = i;
      count += 1;
    }
  });
  return { userText: last >= 0 ? messageText(messages[last]) : '', turnMessages: messages.slice(last + 1), userMessages: count };
}

/** Tool failure text as the plugin returns it: `gt_x failed: <code>: <message>`. */
export const TOOL_FAILURE = /^(gt_[a-z_]+) failed: ([a-z_]+):/;
/** Codes that mean "the control plane said 401" (or the broker could not keep a token). */
export const UNAUTHORIZED_CODES = new Set([
  'token_missing',
  'token_malformed',
  'token_expired',
  'token_bad_signature',
  'token_unknown_key',
  'token_revoked',
  'refresh_invalid',
  'refresh_reused',
  'credentials_expired',
  'broker_unauthorized',
  'container_unauthorized',
]);

export function failureCodeOf(result: SeenToolResult): string | null {
  return TOOL_FAILURE.exec(result.content.trim())?.[2] ?? null;
}

function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

const safeText = (s: string) => s.replace(/[^A-Za-z0-9 ._:-]/g, '').slice(0, 80) || 'work';

interface PrimeResult {
  agent: { id: string; rigId: string | null; name?: string };
  rig: { id: string; defaultBranch: string } | null;
  hookedBead: { id: string; title: string; type: string; metadata?: Record<string, unknown> } | null;
}
interface BeadLike {
  id: string;
  type: string;
  status: string;
  rigId: string | null;
  assigneeId: string | null;
  metadata: Record<string, unknown>;
}

export function createTownScenario(options: TownScenarioOptions = {}): TownScenario {
  const now = options.now ?? (() => Date.now());
  const slings: ScenarioSling[] = [];
  const commits: ScenarioCommit[] = [];
  const approvals: ScenarioApproval[] = [];
  const turns: Record<ScenarioRole, number> = { mayor: 0, polecat: 0, refinery: 0 };
  const seenResults = new Set<string>();
  const beadTitle = options.beadTitle ?? ((n: number) => `Add note ${n}`);

  const note = (n: ScenarioNote) => options.onNote?.(n);

  /** Record outcomes visible in this turn's tool results, once each. */
  function observe(role: ScenarioRole, agentId: string | null, results: SeenToolResult[], turn: ChatMessage[]): void {
    for (const result of results) {
      if (seenResults.has(result.toolCallId)) continue;
      seenResults.add(result.toolCallId);
      if (failureCodeOf(result) || (result.name === 'bash' && !/GASTOWN_COMMIT=/.test(result.content))) {
        note({ kind: 'tool_failed', role, agentId, tool: result.name ?? '?', content: result.content.slice(0, 300) });
        continue;
      }
      if (result.name === 'gt_sling') {
        const bead = parseJson<{ bead: { id: string; rigId: string; title: string } }>(result.content)?.bead;
        if (bead) slings.push({ mayorId: agentId, beadId: bead.id, rigId: bead.rigId, title: bead.title, at: now() });
      }
      if (result.name === 'gt_done' && role === 'refinery') {
        const call = findCall(turn, result.toolCallId);
        const args = parseJson<{ branch: string; mergeRequestBeadId: string }>(call?.function.arguments ?? '');
        if (args?.mergeRequestBeadId) approvals.push({ refineryId: agentId, mergeRequestBeadId: args.mergeRequestBeadId, branch: args.branch, at: now() });
      }
    }
  }

  function mayor(ctx: ResponderContext, turn: ChatMessage[], results: SeenToolResult[], userMessages: number): Turn {
    const byName = (name: string) => results.find((r) => r.name === name);
    const rigsResult = byName('gt_list_rigs');
    if (!rigsResult) return callTool('gt_list_rigs', {});
    if (failureCodeOf(rigsResult)) return reply(`I could not list the rigs: ${rigsResult.content.slice(0, 200)}`);
    const slingResult = byName('gt_sling');
    if (!slingResult) {
      const rigs = parseJson<{ rigs: Array<{ id: string; name: string }> }>(rigsResult.content)?.rigs ?? [];
      const rig = options.rigName ? rigs.find((r) => r.name === options.rigName) : rigs[0];
      if (!rig) return reply('There is no rig to hand work to yet.');
      const title = beadTitle(userMessages);
      return callTool('gt_sling', { rigId: rig.id, title, body: `Create a note file for "${title}" and commit it.` });
    }
    if (failureCodeOf(slingResult)) return reply(`I could not sling the work: ${slingResult.content.slice(0, 200)}`);
    const bead = parseJson<{ bead: { id: string } }>(slingResult.content)?.bead;
    void ctx;
    void turn;
    return reply(`Slung ${bead?.id ?? 'a bead'}; a polecat will pick it up.`);
  }

  function polecat(ctx: ResponderContext, results: SeenToolResult[]): Turn {
    const byName = (name: string) => results.find((r) => r.name === name);
    const primeResult = byName('gt_prime');
    if (!primeResult) return callTool('gt_prime', {});
    if (failureCodeOf(primeResult)) return reply(`gt_prime failed: ${primeResult.content.slice(0, 200)}`);
    const prime = parseJson<PrimeResult>(primeResult.content);
    const beadId = prime?.hookedBead?.id;
    if (!prime || !beadId) return reply('I have no hooked bead; nothing to do.');
    const bashResult = byName('bash');
    const file = `notes/${beadId}.md`;
    if (!bashResult) {
      const title = safeText(prime.hookedBead!.title);
      const command = [
        'set -e',
        'mkdir -p notes',
        `printf '%s\\n' '# ${title}' '' 'Written by polecat ${prime.agent.id}.' > ${file}`,
        `git add ${file}`,
        // a re-dispatched polecat finds its earlier commit in the same worktree: nothing to add
        `git diff --cached --quiet || git -c user.name='Gastown Polecat' -c user.email=polecat@gastown.local commit -q -m '${title} (${beadId})'`,
        'echo "GASTOWN_BRANCH=$(git rev-parse --abbrev-ref HEAD)"',
        'echo "GASTOWN_COMMIT=$(git rev-parse HEAD)"',
      ].join('\n');
      return callTool('bash', { command, description: `Write ${file} and commit it` });
    }
    const branch = /GASTOWN_BRANCH=(\S+)/.exec(bashResult.content)?.[1];
    const sha = /GASTOWN_COMMIT=([0-9a-f]{40})/.exec(bashResult.content)?.[1];
    if (!branch || !sha) return reply(`The commit failed: ${bashResult.content.slice(0, 300)}`);
    const doneResult = byName('gt_done');
    if (!doneResult) {
      if (!commits.some((c) => c.sha === sha)) commits.push({ agentId: ctx.agentId ?? prime.agent.id, beadId, branch, sha, file, at: now() });
      return callTool('gt_done', { branch, summary: `Committed ${file} (${sha.slice(0, 12)})` });
    }
    if (failureCodeOf(doneResult)) return reply(`gt_done failed: ${doneResult.content.slice(0, 200)}`);
    return reply(`Done: ${branch} is ready for review.`);
  }

  /**
   * The merge requests to approve, from (in this order) the hooked bead, the prompt
   * ("Review merge request <id>: branch <branch>."), or gt_list_beads when the role has it.
   */
  function refinery(ctx: ResponderContext, userText: string, results: SeenToolResult[], messages: readonly ChatMessage[]): Turn {
    const byName = (name: string) => results.find((r) => r.name === name);
    const primeResult = byName('gt_prime');
    if (!primeResult) return callTool('gt_prime', {});
    if (failureCodeOf(primeResult)) return reply(`gt_prime failed: ${primeResult.content.slice(0, 200)}`);
    const doneResults = results.filter((r) => r.name === 'gt_done');
    if (doneResults.length > 0) {
      const failed = doneResults.filter((r) => failureCodeOf(r));
      return reply(
        failed.length ? `Approval failed: ${failed.map((r) => r.content.slice(0, 150)).join(' | ')}` : `Approved ${doneResults.length} merge request(s).`,
      );
    }
    const prime = parseJson<PrimeResult>(primeResult.content);
    const alreadyApproved = new Set(approvedIn(messages));
    const candidates: Array<{ id: string; branch: string; commit: string | null }> = [];
    const commitOf = (metadata: Record<string, unknown> | undefined) => (typeof metadata?.commit === 'string' ? metadata.commit : null);
    const hooked = prime?.hookedBead;
    if (hooked?.type === 'merge_request' && typeof hooked.metadata?.branch === 'string')
      candidates.push({ id: hooked.id, branch: hooked.metadata.branch, commit: commitOf(hooked.metadata) });
    for (const m of userText.matchAll(/merge request (bd_[a-z0-9]+): branch (\S+?)\.?(?:\s|$)(?:The commit to review: ([0-9a-f]{40}))?/g))
      candidates.push({ id: m[1]!, branch: m[2]!, commit: m[3] ?? null });
    if (candidates.length === 0 && ctx.toolNames.includes('gt_list_beads')) {
      const listResult = byName('gt_list_beads');
      if (!listResult) return callTool('gt_list_beads', { status: 'open' });
      if (failureCodeOf(listResult)) return reply(`gt_list_beads failed: ${listResult.content.slice(0, 200)}`);
      const me = ctx.agentId ?? prime?.agent.id ?? null;
      const rigId = prime?.agent.rigId ?? prime?.rig?.id ?? null;
      for (const b of parseJson<{ beads: BeadLike[] }>(listResult.content)?.beads ?? []) {
        const open = b.status === 'open' || b.status === 'in_progress';
        if (
          b.type === 'merge_request' &&
          open &&
          (rigId === null || b.rigId === rigId) &&
          (b.assigneeId === null || b.assigneeId === me) &&
          typeof b.metadata.branch === 'string'
        ) {
          candidates.push({ id: b.id, branch: b.metadata.branch, commit: commitOf(b.metadata) });
        }
      }
    }
    const pending = candidates.filter((c, i) => !alreadyApproved.has(c.id) && candidates.findIndex((o) => o.id === c.id) === i);
    if (pending.length === 0) return reply('No merge request waits for review.');
    return callTools(
      pending.map((c) => ({
        name: 'gt_done',
        arguments: { branch: c.branch, mergeRequestBeadId: c.id, ...(c.commit ? { commit: c.commit } : {}), summary: 'Looks good: approved.' },
      })),
    );
  }

  let gate: { promise: Promise<void>; release: () => void; waiting: number } | null = null;
  function holdPolecats(): PolecatGate {
    let release: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    const current = { promise, release, waiting: 0 };
    gate = current;
    return {
      pending: () => current.waiting,
      release() {
        if (gate === current) gate = null;
        current.release();
      },
    };
  }

  const responder: Responder = async (request, ctx) => {
    const role = roleOf(ctx.toolNames);
    if (!role) return null;
    const held = role === 'polecat' ? gate : null;
    if (held) {
      held.waiting += 1;
      await held.promise;
      held.waiting -= 1;
    }
    const { turnMessages, userMessages, userText } = currentTurn(request.messages);
    const results = toolResultsOf(turnMessages);
    observe(role, ctx.agentId, results, turnMessages);
    let answer: Turn;
    const steps = turnMessages.filter((m) => m.role === 'assistant' && (m.tool_calls?.length ?? 0) > 0).length;
    if (steps >= MAX_STEPS_PER_TURN) {
      // never loop: a tool the runtime refuses (e.g. not offered to this role) would otherwise repeat forever
      answer = reply(`Giving up after ${steps} tool steps: ${results.at(-1)?.content.slice(0, 200) ?? ''}`);
    } else {
      answer =
        role === 'mayor'
          ? mayor(ctx, turnMessages, results, userMessages)
          : role === 'polecat'
            ? polecat(ctx, results)
            : refinery(ctx, userText, results, request.messages);
    }
    const missing = answer.type === 'tool_calls' ? answer.calls.map((c) => c.name).filter((name) => !ctx.toolNames.includes(name)) : [];
    if (missing.length > 0) {
      note({ kind: 'tool_failed', role, agentId: ctx.agentId, tool: missing.join(', '), content: `not offered to the ${role}` });
      answer = reply(`I cannot continue: the tool(s) ${missing.join(', ')} are not available to the ${role}.`);
    }
    if (answer.type === 'text') turns[role] += 1;
    note({ kind: 'turn', role, agentId: ctx.agentId, action: describe(answer) });
    return answer;
  };

  return { responder, holdPolecats, slings, commits, approvals, turns };
}

function findCall(messages: readonly ChatMessage[], toolCallId: string) {
  for (const m of messages) for (const call of m.tool_calls ?? []) if (call.id === toolCallId) return call;
  return undefined;
}

/** Merge requests this refinery already approved, from its whole conversation. */
function approvedIn(messages: readonly ChatMessage[]): string[] {
  const ids: string[] = [];
  for (const m of messages) {
    for (const call of m.tool_calls ?? []) {
      if (call.function?.name !== 'gt_done') continue;
      const args = parseJson<{ mergeRequestBeadId?: string }>(call.function.arguments);
      if (args?.mergeRequestBeadId) ids.push(args.mergeRequestBeadId);
    }
  }
  return ids;
}

function describe(turn: Turn): string {
  if (turn.type === 'tool_calls') return turn.calls.map((c) => c.name).join(', ');
  if (turn.type === 'text') return `says: ${turn.text}`;
  return `error ${turn.status}`;
}
