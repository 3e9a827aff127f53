import type { Agent } from '@gastown/protocol';

/** Runs that are over: the agent no longer runs (its token expired or revoked, as expected). */
const ENDED: ReadonlySet<Agent['status']> = new Set(['exited', 'stopped', 'failed']);
const LIVE: ReadonlySet<Agent['status']> = new Set(['starting', 'working', 'waiting']);
/** The newest ended runs stay in the table (what just happened); older ones collapse behind a toggle. */
export const RECENT_ENDED_SHOWN = 2;
/** A failure reason longer than this is cut (the full text stays in the element's title). */
const MAX_REASON = 500;

export function isEnded(agent: Pick<Agent, 'role' | 'status'>): boolean {
  return agent.role !== 'mayor' && ENDED.has(agent.status);
}

export function isLive(agent: Pick<Agent, 'status'>): boolean {
  return LIVE.has(agent.status);
}

/** Mayor first, then running agents, then the rest; newest first within each group. */
export function sortAgents(agents: readonly Agent[]): Agent[] {
  const rank = (a: Agent) => (a.role === 'mayor' ? 0 : LIVE.has(a.status) ? 1 : isEnded(a) ? 3 : 2);
  return [...agents].sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
}

/**
 * The agents table's rows: `shown` (mayor, running and idle agents, and the RECENT_ENDED_SHOWN
 * newest ended runs) and `collapsed` (every older ended run: exited, stopped or failed polecats
 * and refineries), shown only when the user opens "N ended runs". Pure.
 */
export function splitAgents(agents: readonly Agent[], recentEnded = RECENT_ENDED_SHOWN): { shown: Agent[]; collapsed: Agent[] } {
  const sorted = sortAgents(agents);
  const ended = sorted.filter(isEnded);
  const collapsed = new Set(ended.slice(recentEnded).map((a) => a.id));
  return { shown: sorted.filter((a) => !collapsed.has(a.id)), collapsed: sorted.filter((a) => collapsed.has(a.id)) };
}

/** One line: whitespace collapsed, cut at MAX_REASON characters. */
export function oneLine(text: string, max = MAX_REASON): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Why a failed agent's run failed (its status line), in full; null for any other agent. */
export function agentFailureReason(agent: Pick<Agent, 'status' | 'statusLine'>): string | null {
  if (agent.status !== 'failed' || !agent.statusLine || agent.statusLine.trim() === '') return null;
  return oneLine(agent.statusLine);
}
