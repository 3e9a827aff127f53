import type { Agent, Bead } from '@gastown/protocol';
import { credentialView, type CredentialView } from '../model/credential-view';
import { clip } from '../model/event-summary';
import { formatDuration, shortId } from '../model/format';
import { badge, empty, h, liveTime, replace } from '../view/dom';

/** The last reissue of an agent's credentials, as the server reported it. */
export type ReissueState =
  { kind: 'pending' } | { kind: 'ok'; outcome: string; tokenExpiresAt: number; at: number } | { kind: 'error'; code: string; message: string; at: number };

const STATUS_TONE: Record<Agent['status'], string> = {
  idle: 'muted',
  starting: 'info',
  working: 'ok',
  waiting: 'info',
  exited: 'muted',
  stopped: 'muted',
  failed: 'bad',
};

const CREDENTIAL_TONE: Record<CredentialView['severity'], string> = { ok: 'ok', warn: 'warn', bad: 'bad', none: 'muted' };
const COLUMNS: readonly [string, string?][] = [
  ['Agent'],
  ['Status'],
  ['Isolation'],
  ['Bead'],
  ['Credential'],
  ['Expires'],
  ['Last refresh'],
  ['Refreshes', 'num'],
  ['Failures', 'num'],
  ['401s', 'num'],
  ['', 'actions'],
];
/** The run's sandbox level: anything below uid+namespaces is a warning, unknown (no heartbeat yet) is muted. */
function isolationCell(a: Agent): HTMLElement {
  const level = a.isolation ?? 'unknown';
  const strong = level === 'uid+namespaces';
  const tone = a.isolation === null ? 'muted' : strong ? 'ok' : 'warn';
  const title = a.isolation === null ? 'no heartbeat from this run yet' : strong ? 'own uid inside bwrap namespaces' : 'weaker than uid+namespaces';
  return h('td', { class: tone === 'warn' ? 'is-warn' : undefined, data: { field: 'isolation', isolation: level } }, badge(level, tone, title));
}

const LIVE: ReadonlySet<Agent['status']> = new Set(['starting', 'working', 'waiting']);

/** Mayor first, then running agents, then the rest; newest first within each group. */
export function sortAgents(agents: readonly Agent[]): Agent[] {
  const rank = (a: Agent) => (a.role === 'mayor' ? 0 : LIVE.has(a.status) ? 1 : 2);
  return [...agents].sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
}

export interface AgentsPanelOptions {
  now(): number;
  onReissue(agent: Agent): void;
}

/** Agents with their credential health; "Reissue credentials" per agent shows the real outcome. */
export class AgentsPanel {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;

  constructor(private readonly opts: AgentsPanelOptions) {
    this.#body = h('div', { class: 'table-wrap' }, empty('Loading agents…'));
    this.el = h(
      'section',
      { class: 'card panel', id: 'agents-panel' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', null, 'Agents'),
        h('span', { class: 'muted small' }, 'credential health as the control plane and each agent’s broker report it'),
      ),
      this.#body,
    );
  }

  showError(text: string): void {
    replace(this.#body, h('div', { class: 'form-error' }, text));
  }

  render(agents: readonly Agent[], beads: ReadonlyMap<string, Bead>, reissue: ReadonlyMap<string, ReissueState>): void {
    if (agents.length === 0) return replace(this.#body, empty('No agents yet.'));
    const now = this.opts.now();
    const head = h(
      'thead',
      null,
      h(
        'tr',
        null,
        COLUMNS.map(([title, cls]) => h('th', { class: cls }, title)),
      ),
    );
    const rows = sortAgents(agents).map((a) => this.#row(a, credentialView(a, now), beads, reissue.get(a.id)));
    replace(this.#body, h('table', { class: 'table agents-table' }, head, h('tbody', null, rows)));
  }

  #row(a: Agent, c: CredentialView, beads: ReadonlyMap<string, Bead>, reissue: ReissueState | undefined): HTMLElement {
    const bead = a.beadId ? beads.get(a.beadId) : undefined;
    const tone = CREDENTIAL_TONE[c.severity];
    const warnIf = (n: number) => (n > 0 ? 'num is-warn' : 'num');
    return h(
      'tr',
      {
        class: `agent-row sev-${c.severity}${LIVE.has(a.status) || a.role === 'mayor' ? '' : ' is-finished'}`,
        data: { agentId: a.id, role: a.role, severity: c.severity },
      },
      h(
        'td',
        null,
        h('div', { class: 'agent-name' }, a.name, ' ', badge(a.role, `role-${a.role}`)),
        h('div', { class: 'muted mono small', title: a.id }, shortId(a.id, 16)),
      ),
      h(
        'td',
        { data: { field: 'status' } },
        badge(a.status, STATUS_TONE[a.status]),
        h('div', { class: 'muted small', data: { field: 'heartbeat' }, title: 'last heartbeat' }, '♥ ', liveTime('ago', a.lastHeartbeatAt, 'never')),
        a.statusLine ? h('div', { class: 'muted small', title: a.statusLine }, clip(a.statusLine, 40)) : null,
      ),
      isolationCell(a),
      h(
        'td',
        { data: { field: 'bead' } },
        bead
          ? h('div', { class: 'bead-ref', title: `${bead.title} (${bead.id})` }, clip(bead.title, 28))
          : a.beadId
            ? h('div', { class: 'muted mono small' }, shortId(a.beadId, 14))
            : h('span', { class: 'muted' }, '—'),
      ),
      h(
        'td',
        { data: { field: 'credential' } },
        badge(c.state, tone, `control plane: ${c.state}${c.brokerState ? ` · broker: ${c.brokerState}` : ''} · gen ${c.gen}`),
        c.brokerState && c.brokerState !== 'valid' ? h('span', null, ' ', badge(`broker ${c.brokerState}`, tone)) : null,
        c.problems.length ? h('div', { class: `problems tone-${tone}` }, c.problems.join(' · ')) : null,
        c.lastError ? h('div', { class: 'muted small', title: c.lastError }, clip(c.lastError, 60)) : null,
      ),
      h(
        'td',
        {
          class: `expires tone-${c.severity === 'bad' ? 'bad' : 'plain'}`,
          data: { field: 'expires' },
          title: c.expiresSource ? `as seen by the ${c.expiresSource}` : undefined,
        },
        liveTime('countdown', c.expiresAt),
      ),
      h(
        'td',
        { data: { field: 'last-refresh' } },
        liveTime('ago', c.lastRefreshAt, 'never'),
        c.lastRefreshSource ? h('div', { class: 'muted small' }, c.lastRefreshSource) : null,
      ),
      h(
        'td',
        { class: 'num', data: { field: 'refreshes' }, title: 'refreshes by the agent’s broker this run; below: the control plane’s count for this generation' },
        h('div', { data: { count: 'refreshes' } }, String(c.brokerRefreshCount ?? c.refreshCount)),
        c.brokerRefreshCount !== null
          ? h('div', { class: 'muted small', title: 'refreshes the control plane counted for this generation' }, `cp ${c.refreshCount}`)
          : null,
      ),
      h('td', { class: warnIf(c.consecutiveFailures), data: { field: 'failures' } }, String(c.consecutiveFailures)),
      h('td', { class: warnIf(c.unauthorizedCount), data: { field: 'unauthorized' } }, String(c.unauthorizedCount)),
      h('td', { class: 'actions' }, this.#reissueCell(a, reissue)),
    );
  }

  #reissueCell(a: Agent, state: ReissueState | undefined): HTMLElement {
    const button = h(
      'button',
      {
        class: 'btn btn-small',
        type: 'button',
        title: 'Mint a new credential family and push it to the agent',
        disabled: state?.kind === 'pending',
        data: { action: 'reissue', agentId: a.id },
        on: { click: () => this.opts.onReissue(a) },
      },
      state?.kind === 'pending' ? 'Reissuing…' : 'Reissue',
    );
    let outcome: HTMLElement | null = null;
    if (state?.kind === 'ok') {
      const ttl = formatDuration(state.tokenExpiresAt - state.at);
      outcome = h('div', { class: 'reissue-outcome tone-ok', role: 'status' }, `✓ ${state.outcome.replace(/_/g, ' ')} · valid ${ttl}`);
    } else if (state?.kind === 'error') {
      outcome = h('div', { class: 'reissue-outcome tone-bad', role: 'alert', title: state.message }, `✗ ${state.code}: ${clip(state.message, 80)}`);
    }
    return h('div', { class: 'reissue' }, button, outcome);
  }
}
