/** One line of live demo output per town event. Pure; never prints a secret (events hold none). */
import type { TownEvent } from '@gastown/protocol';
import { printableUrl } from '../views/pull-request';

export interface AgentLabel {
  role: string;
  name: string;
}

const str = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v));
const short = (s: string, n = 90) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** `null` for events too chatty to show (streaming, busy/idle pairs). */
export function formatTownEvent(event: TownEvent, agentOf: (id: string | null) => AgentLabel | null, startedAt: number): string | null {
  const d = event.data;
  const who = agentOf(event.agentId);
  const agent = who ? `${who.role} ${who.name}` : event.agentId ? event.agentId : 'town';
  const bead = event.beadId ? ` ${event.beadId}` : '';
  let text: string | null;
  switch (event.type) {
    case 'agent.status_changed':
      text = `${agent}: ${str(d.from)} → ${str(d.to)}`;
      break;
    case 'agent.created':
    case 'agent.dispatched':
    case 'agent.started':
    case 'agent.stopped':
      text = `${agent}: ${event.type.slice('agent.'.length)}${d.gen !== undefined ? ` (gen ${str(d.gen)})` : ''}`;
      break;
    case 'agent.completed':
      text = `${agent}: completed (${str(d.outcome)}${d.branch ? `, branch ${str(d.branch)}` : ''})`;
      break;
    case 'agent.tool': {
      if (d.state !== 'completed' && d.state !== 'error') return null;
      text = `${agent}: tool ${str(d.tool)} ${str(d.state)}${d.output ? ` → ${short(str(d.output).replace(/\s+/g, ' '), 70)}` : ''}`;
      break;
    }
    case 'agent.text':
      text = `${agent} says: ${short(str(d.text).replace(/\s+/g, ' '))}`;
      break;
    case 'credential.refreshed':
      // the control plane and the container's broker both record a refresh; show the broker's (it names the source)
      if (d.source === undefined) return null;
      text = `${agent}: credential refreshed (${str(d.source)}, #${str(d.refreshCount)})`;
      break;
    case 'credential.issued':
    case 'credential.pushed':
    case 'credential.reissued':
      text = `${agent}: ${event.type}${d.source ? ` (${str(d.source)})` : ''}${d.gen !== undefined ? ` gen ${str(d.gen)}` : ''}`;
      break;
    case 'bead.created':
      text = `bead${bead} created (${str(d.type)})`;
      break;
    case 'bead.status_changed':
      text = `bead${bead}: ${str(d.from)} → ${str(d.to)}`;
      break;
    case 'merge_request.created':
      text = `merge request${bead} for ${str(d.branch)}`;
      break;
    case 'merge_request.merged':
      text = `merge request${bead} merged (${str(d.commitSha).slice(0, 12)})`;
      break;
    case 'merge_request.failed':
      text = `merge request${bead} failed (${str(d.outcome)})`;
      break;
    case 'pull_request.opened':
      text = `pull request #${str(d.number)}${bead} opened: ${printableUrl(str(d.url)) ?? '(no web URL)'}`;
      break;
    case 'pull_request.merged':
      text = `pull request #${str(d.number)}${bead} merged`;
      break;
    case 'pull_request.closed':
      text = `pull request #${str(d.number)}${bead} closed without merging`;
      break;
    case 'session.busy':
    case 'session.idle':
    case 'agent.message':
      return null;
    default:
      text = `${agent}: ${event.type}${bead}`;
  }
  const seconds = ((event.at - startedAt) / 1000).toFixed(1).padStart(6);
  return `[${seconds}s] ${text}`;
}
