import type { TownEvent } from '@gastown/protocol';

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

export function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

export type EventTone = 'info' | 'ok' | 'warn' | 'bad' | 'muted';

/** How the event feed shows one event: a tone and a one-line summary. Pure. */
export function summariseEvent(event: TownEvent): { tone: EventTone; text: string } {
  const d = event.data;
  switch (event.type) {
    case 'agent.text':
      return { tone: 'info', text: `“${clip(str(d.text) ?? '', 140)}”` };
    case 'agent.tool':
      return { tone: str(d.state) === 'error' ? 'bad' : 'muted', text: `${str(d.tool) ?? 'tool'} ${str(d.state) ?? ''}`.trim() };
    case 'agent.error':
      return { tone: 'bad', text: clip(str(d.message) ?? 'error', 160) };
    case 'agent.status_changed':
      return { tone: str(d.to) === 'failed' ? 'bad' : 'muted', text: `${str(d.from) ?? '?'} → ${str(d.to) ?? '?'}` };
    case 'agent.created':
      return { tone: 'info', text: `${str(d.role) ?? 'agent'} created` };
    case 'agent.stopped':
      return { tone: 'warn', text: `stopped${str(d.reason) ? ` — ${clip(str(d.reason) ?? '', 80)}` : ''}` };
    case 'agent.completed':
      return {
        tone: str(d.outcome) === 'failed' ? 'bad' : 'ok',
        text: `${str(d.outcome) ?? 'completed'}${str(d.reason) ? ` — ${clip(str(d.reason) ?? '', 100)}` : ''}`,
      };
    case 'credential.refreshed': {
      const source = str(d.source);
      const count = num(d.refreshCount);
      return { tone: 'ok', text: `token refreshed${source ? ` (${source})` : ''}${count !== null ? ` · #${count}` : ''}` };
    }
    case 'credential.state_changed':
      return {
        tone: ['expired', 'revoked', 'degraded'].includes(str(d.to) ?? '') ? 'bad' : 'ok',
        text: `credential ${str(d.from) ?? '?'} → ${str(d.to) ?? '?'}${str(d.lastError) ? ` (${clip(str(d.lastError) ?? '', 80)})` : ''}`,
      };
    case 'credential.reissued':
      return {
        tone: str(d.outcome) === 'push_failed' ? 'bad' : 'ok',
        text: `credentials reissued: ${str(d.outcome) ?? '?'}${str(d.code) ? ` (${str(d.code)})` : ''}`,
      };
    case 'credential.issued':
      return { tone: 'ok', text: `credentials issued (gen ${num(d.gen) ?? '?'})` };
    case 'credential_reuse_detected':
      return { tone: 'bad', text: 'refresh credential reused: family revoked' };
    case 'bead.created':
      return { tone: 'info', text: `bead created${str(d.type) ? ` (${str(d.type)})` : ''}` };
    case 'bead.status_changed':
      return { tone: str(d.to) === 'failed' ? 'bad' : 'info', text: `bead ${str(d.from) ?? '?'} → ${str(d.to) ?? '?'}` };
    case 'merge_request.created':
      return { tone: 'info', text: `merge request for ${str(d.branch) ?? 'a branch'}` };
    case 'merge_request.merged':
      return { tone: 'ok', text: `merged${str(d.commitSha) ? ` at ${(str(d.commitSha) ?? '').slice(0, 8)}` : ''}` };
    case 'merge_request.failed':
      return { tone: 'bad', text: `merge ${str(d.outcome) ?? 'failed'}` };
    case 'pull_request.opened':
      return { tone: 'info', text: `pull request #${num(d.number) ?? '?'} opened` };
    case 'pull_request.merged':
      return { tone: 'ok', text: `pull request #${num(d.number) ?? '?'} merged` };
    case 'pull_request.closed':
      return { tone: 'warn', text: `pull request #${num(d.number) ?? '?'} closed without merging` };
    case 'escalation.created':
      return { tone: 'warn', text: `escalation (${str(d.severity) ?? '?'}): ${clip(str(d.title) ?? '', 100)}` };
    case 'mayor.message_received':
      return { tone: 'info', text: `message for the mayor (${num(d.chars) ?? '?'} chars)` };
    case 'mayor.delivery_failed':
      return { tone: 'bad', text: `message not delivered (${str(d.code) ?? 'error'})` };
    case 'session.busy':
      return { tone: 'muted', text: 'working…' };
    case 'session.idle':
      return { tone: 'muted', text: 'idle' };
    case 'town.config_updated':
      return { tone: 'info', text: `settings updated${Array.isArray(d.fields) ? `: ${d.fields.join(', ')}` : ''}` };
    case 'rig.added':
      return { tone: 'info', text: `rig ${str(d.name) ?? ''} added`.replace('  ', ' ') };
    case 'rig.updated':
      return { tone: 'info', text: `rig ${str(d.name) ?? ''} updated`.replace('  ', ' ') };
    case 'container.restart_requested':
      return { tone: 'info', text: d.wasRunning === true ? 'container restarted (settings apply at its next start)' : 'container restart: it was asleep' };
    default: {
      const keys = Object.keys(d).slice(0, 3);
      const parts = keys.map((k) => `${k}=${clip(typeof d[k] === 'string' ? (d[k] as string) : (JSON.stringify(d[k]) ?? ''), 30)}`);
      return { tone: 'muted', text: parts.join(' ') };
    }
  }
}
