/**
 * The `gastown status` table: one row per agent with its life and its credential health. Pure:
 * agents and `now` in, cells (with a colour where something is wrong) out.
 */
import type { Agent, AgentStatus } from '@gastown/protocol';
import type { Colour } from '../output/colour';
import type { Cell, Column } from '../output/table';
import { formatAge, formatUntil } from '../output/time';

export const STATUS_COLUMNS: readonly Column[] = [
  { header: 'ROLE' },
  { header: 'NAME' },
  { header: 'ID' },
  { header: 'STATUS' },
  { header: 'ISOLATION' },
  { header: 'BEAD' },
  { header: 'HEARTBEAT' },
  { header: 'CREDENTIAL' },
  { header: 'EXPIRES IN' },
  { header: 'REFRESHED' },
  { header: 'REFRESHES', align: 'right' },
  { header: 'FAILURES', align: 'right' },
  { header: '401s', align: 'right' },
];

/** A heartbeat older than this, for an agent that should be alive, is worth a look. */
export const STALE_HEARTBEAT_MS = 90_000;
/** … and older than this, alarming. */
export const DEAD_HEARTBEAT_MS = 5 * 60_000;

const LIVE: ReadonlySet<AgentStatus> = new Set(['starting', 'working', 'waiting']);
const ROLE_ORDER = { mayor: 0, refinery: 1, polecat: 2 } as const;

/** Mayor first, then refineries, then polecats; oldest first within a role. */
export function sortAgents(agents: readonly Agent[]): Agent[] {
  return [...agents].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

function statusColour(status: AgentStatus): Colour | null {
  return status === 'failed' ? 'red' : null;
}

function heartbeatColour(agent: Agent, now: number): Colour | null {
  if (!LIVE.has(agent.status)) return null;
  if (agent.lastHeartbeatAt === null) return agent.status === 'starting' ? null : 'yellow';
  const age = now - agent.lastHeartbeatAt;
  if (age >= DEAD_HEARTBEAT_MS) return 'red';
  return age >= STALE_HEARTBEAT_MS ? 'yellow' : null;
}

function credentialColour(agent: Agent): Colour | null {
  switch (agent.credential.state) {
    case 'expired':
      return LIVE.has(agent.status) ? 'red' : null;
    case 'revoked':
      return LIVE.has(agent.status) ? 'red' : null;
    case 'degraded':
      return 'red';
    case 'expiring':
      return 'yellow';
    default:
      return null;
  }
}

function countColour(n: number | null, redAt: number): Colour | null {
  if (n === null || n === 0) return null;
  return n >= redAt ? 'red' : 'yellow';
}

/** Latest known refresh: the control plane's record or the broker's report, whichever is newer. */
export function lastRefreshAt(agent: Agent): number | null {
  const mine = agent.credential.lastRefreshAt;
  const reported = agent.credential.reported?.lastRefreshAt ?? null;
  if (mine === null) return reported;
  if (reported === null) return mine;
  return Math.max(mine, reported);
}

export function statusRow(agent: Agent, now: number): Cell[] {
  const c = agent.credential;
  const reported = c.reported;
  const failures = reported ? reported.consecutiveFailures : null;
  const unauthorized = reported ? reported.unauthorizedCount : null;
  const live = LIVE.has(agent.status);
  const expiresColour: Colour | null = live && c.tokenExpiresAt !== null && c.tokenExpiresAt <= now ? 'red' : null;
  return [
    agent.role,
    agent.name,
    agent.id,
    { text: agent.status, colour: statusColour(agent.status) },
    // the run's sandbox level; plain (the dashboard flags weak levels) so it never turns the attention summary on
    agent.isolation ?? '-',
    agent.beadId ?? '-',
    { text: formatAge(agent.lastHeartbeatAt, now), colour: heartbeatColour(agent, now) },
    { text: c.state, colour: credentialColour(agent) },
    { text: formatUntil(c.tokenExpiresAt, now), colour: expiresColour },
    formatAge(lastRefreshAt(agent), now),
    String(c.refreshCount),
    { text: failures === null ? '-' : String(failures), colour: countColour(failures, 3) },
    { text: unauthorized === null ? '-' : String(unauthorized), colour: countColour(unauthorized, Number.POSITIVE_INFINITY) },
  ];
}

/** True when any cell of the table would be coloured: the summary line says so. */
export function needsAttention(rows: readonly (readonly Cell[])[]): boolean {
  return rows.some((r) => r.some((cell) => typeof cell !== 'string' && Boolean(cell.colour)));
}
