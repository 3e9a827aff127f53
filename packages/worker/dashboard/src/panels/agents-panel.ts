import type { Agent, Bead } from '@gastown/protocol';
import { agentFailureReason, isEnded, isLive, oneLine, splitAgents } from '../model/agents-view';
import { credentialView, type CredentialView } from '../model/credential-view';
import { formatDuration, shortId } from '../model/format';
import { badge, empty, h, liveTime, replace } from '../view/dom';

export { sortAgents } from '../model/agents-view';

/** The last reissue of an agent's credentials, as the server reported it. */
export type ReissueState =
  { kind: 'pending' } | { kind: 'ok'; outcome: string; tokenExpiresAt: number; at: number } | { kind: 'error'; code: string; message: string; at: number };

/** The last restart or nudge of an agent, as the server answered it. */
export type AgentActionState = { kind: 'pending'; action: 'restart' | 'nudge' } | { kind: 'ok' | 'error'; action: 'restart' | 'nudge'; text: string };

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
/** Seven columns that fit the main column of a 1,280 px window (the counters share one, the actions stack). */
const COLUMNS: readonly [string, string?][] = [['Agent'], ['Status'], ['Bead'], ['Credential'], ['Token'], ['Refreshes · fail · 401s', 'num'], ['', 'actions']];

/** The run's sandbox level: anything below uid+namespaces is a warning, unknown (no heartbeat yet) is muted. */
function isolationBadge(a: Agent): HTMLElement {
  const level = a.isolation ?? 'unknown';
  const strong = level === 'uid+namespaces';
  const tone = a.isolation === null ? 'muted' : strong ? 'ok' : 'warn';
  const title = a.isolation === null ? 'no heartbeat from this run yet' : strong ? 'own uid inside bwrap namespaces' : 'weaker than uid+namespaces';
  return h('div', { class: tone === 'warn' ? 'isolation is-warn' : 'isolation', data: { field: 'isolation', isolation: level } }, badge(level, tone, title));
}

export interface AgentsPanelOptions {
  now(): number;
  onReissue(agent: Agent): void;
  onRestart(agent: Agent): void;
  onNudge(agent: Agent, text: string): void;
}

/**
 * Agents with their credential health; per agent "Reissue", "Restart" and (while it runs) "Nudge",
 * each showing the server's real answer. Older ended runs collapse behind an "N ended runs" toggle;
 * a failed run's reason is shown in full in a row under it.
 */
export class AgentsPanel {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;
  #showEnded = false;
  /** Agents whose nudge box is open, and what is typed in it (kept across re-renders). */
  readonly #nudgeDrafts = new Map<string, string>();
  #last: {
    agents: readonly Agent[];
    beads: ReadonlyMap<string, Bead>;
    reissue: ReadonlyMap<string, ReissueState>;
    actions: ReadonlyMap<string, AgentActionState>;
  } | null = null;

  constructor(private readonly opts: AgentsPanelOptions) {
    this.#body = h('div', { class: 'table-wrap', id: 'agents-table-wrap' }, empty('Loading agents…'));
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

  render(
    agents: readonly Agent[],
    beads: ReadonlyMap<string, Bead>,
    reissue: ReadonlyMap<string, ReissueState>,
    actions: ReadonlyMap<string, AgentActionState> = new Map(),
  ): void {
    this.#last = { agents, beads, reissue, actions };
    if (agents.length === 0) return replace(this.#body, empty('No agents yet.'));
    // a focused nudge input survives the redraw (events redraw the table while one types)
    const focused = document.activeElement instanceof HTMLInputElement ? document.activeElement.dataset.nudgeFor : undefined;
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
    const rowsOf = (list: readonly Agent[]) => list.flatMap((a) => this.#rows(a, credentialView(a, now), beads, reissue.get(a.id), actions.get(a.id)));
    const { shown, collapsed } = splitAgents(agents);
    const bodies: HTMLElement[] = [h('tbody', null, rowsOf(shown))];
    if (collapsed.length) {
      const label = `${collapsed.length} ended run${collapsed.length === 1 ? '' : 's'}`;
      bodies.push(
        h(
          'tbody',
          { class: 'ended-toggle' },
          h(
            'tr',
            null,
            h(
              'td',
              { colspan: String(COLUMNS.length) },
              h(
                'button',
                {
                  class: 'btn btn-link',
                  type: 'button',
                  id: 'agents-ended-toggle',
                  'aria-expanded': String(this.#showEnded),
                  data: { count: String(collapsed.length) },
                  on: { click: () => this.#toggleEnded() },
                },
                this.#showEnded ? `▾ ${label}` : `▸ ${label}`,
              ),
              h('span', { class: 'muted small' }, ' exited, stopped or failed polecats and refineries'),
            ),
          ),
        ),
        h('tbody', { class: 'ended-runs', id: 'agents-ended', hidden: !this.#showEnded }, rowsOf(collapsed)),
      );
    }
    replace(this.#body, h('table', { class: 'table agents-table' }, head, bodies));
    if (focused) this.#body.querySelector<HTMLInputElement>(`input[data-nudge-for="${CSS.escape(focused)}"]`)?.focus();
  }

  #toggleEnded(): void {
    this.#showEnded = !this.#showEnded;
    if (this.#last) this.render(this.#last.agents, this.#last.beads, this.#last.reissue, this.#last.actions);
  }

  #rerender(): void {
    if (this.#last) this.render(this.#last.agents, this.#last.beads, this.#last.reissue, this.#last.actions);
  }

  #rows(a: Agent, c: CredentialView, beads: ReadonlyMap<string, Bead>, reissue: ReissueState | undefined, action: AgentActionState | undefined): HTMLElement[] {
    const bead = a.beadId ? beads.get(a.beadId) : undefined;
    const tone = CREDENTIAL_TONE[c.severity];
    const warnIf = (n: number) => (n > 0 ? 'is-warn' : undefined);
    const reason = agentFailureReason(a);
    // An ended run holds no credential any more: "healthy" would mislead (revoked and expired are shown as they are).
    const runEnded = isEnded(a) && (c.state === 'healthy' || c.state === 'expiring' || c.state === 'degraded');
    const row = h(
      'tr',
      {
        class: `agent-row sev-${c.severity}${isLive(a) || a.role === 'mayor' ? '' : ' is-finished'}${reason ? ' has-detail' : ''}`,
        data: { agentId: a.id, role: a.role, severity: c.severity, status: a.status },
      },
      h(
        'td',
        { class: 'agent-cell' },
        h('div', { class: 'agent-name' }, a.name, ' ', badge(a.role, `role-${a.role}`)),
        h('div', { class: 'muted mono small', title: a.id }, shortId(a.id, 12)),
      ),
      h(
        'td',
        { data: { field: 'status' } },
        badge(a.status, STATUS_TONE[a.status]),
        h('div', { class: 'muted small', data: { field: 'heartbeat' }, title: 'last heartbeat' }, '♥ ', liveTime('ago', a.lastHeartbeatAt, 'never')),
        isolationBadge(a),
        a.statusLine && !reason
          ? h('div', { class: 'muted small wrap-text', title: a.statusLine, data: { field: 'status-line' } }, oneLine(a.statusLine, 160))
          : null,
      ),
      h(
        'td',
        { data: { field: 'bead' } },
        bead
          ? h('div', { class: 'bead-ref', title: `${bead.title} (${bead.id})` }, bead.title)
          : a.beadId
            ? h('div', { class: 'muted mono small' }, shortId(a.beadId, 14))
            : h('span', { class: 'muted' }, '—'),
      ),
      h(
        'td',
        { data: { field: 'credential' } },
        runEnded
          ? badge('run ended', 'muted', `the run is over; control plane: ${c.state} · gen ${c.gen}`)
          : badge(c.state, tone, `control plane: ${c.state}${c.brokerState ? ` · broker: ${c.brokerState}` : ''} · gen ${c.gen}`),
        !runEnded && c.brokerState && c.brokerState !== 'valid' ? h('span', null, ' ', badge(`broker ${c.brokerState}`, tone)) : null,
        c.problems.length ? h('div', { class: `problems tone-${tone}` }, c.problems.join(' · ')) : null,
        c.lastError ? h('div', { class: 'muted small wrap-text', title: c.lastError }, oneLine(c.lastError, 160)) : null,
      ),
      h(
        'td',
        { class: 'token-cell' },
        h(
          'div',
          {
            class: `expires tone-${c.severity === 'bad' ? 'bad' : 'plain'}`,
            data: { field: 'expires' },
            title: c.expiresSource ? `expires, as seen by the ${c.expiresSource}` : 'expires',
          },
          runEnded ? h('span', { class: 'muted' }, '—') : liveTime('countdown', c.expiresAt),
        ),
        h(
          'div',
          { class: 'muted small', data: { field: 'last-refresh' }, title: 'last refresh and its source' },
          liveTime('ago', c.lastRefreshAt, 'never'),
          c.lastRefreshSource ? ` · ${c.lastRefreshSource}` : null,
        ),
      ),
      h(
        'td',
        { class: 'num counters' },
        h(
          'div',
          { data: { field: 'refreshes' }, title: 'refreshes by the agent’s broker this run; cp: the control plane’s count for this generation' },
          h('span', { data: { count: 'refreshes' } }, String(c.brokerRefreshCount ?? c.refreshCount)),
          c.brokerRefreshCount !== null ? h('span', { class: 'muted small' }, ` cp ${c.refreshCount}`) : null,
        ),
        h(
          'div',
          { class: 'small counter-pair' },
          h(
            'span',
            { class: warnIf(c.consecutiveFailures), data: { field: 'failures' }, title: 'consecutive refresh failures' },
            String(c.consecutiveFailures),
          ),
          h('span', { class: 'muted' }, ' · '),
          h(
            'span',
            { class: warnIf(c.unauthorizedCount), data: { field: 'unauthorized' }, title: '401 responses the broker saw' },
            String(c.unauthorizedCount),
          ),
        ),
      ),
      h('td', { class: 'actions' }, this.#actionsCell(a, reissue, action)),
    );
    const rows: HTMLElement[] = [row];
    if (reason)
      rows.push(
        h(
          'tr',
          { class: `agent-detail${isEnded(a) ? ' is-finished' : ''}`, data: { detailFor: a.id } },
          h('td', { colspan: String(COLUMNS.length), class: 'failure-reason', data: { field: 'failure-reason' } }, h('strong', null, 'Failed: '), reason),
        ),
      );
    if (this.#nudgeDrafts.has(a.id) && isLive(a)) rows.push(this.#nudgeRow(a, action));
    return rows;
  }

  #nudgeRow(a: Agent, action: AgentActionState | undefined): HTMLElement {
    const input = h('input', {
      class: 'input',
      id: `nudge-input-${a.id}`,
      placeholder: `A short message ${a.name} sees at its next turn`,
      maxlength: '2000',
      autocomplete: 'off',
      value: this.#nudgeDrafts.get(a.id) ?? '',
      data: { nudgeFor: a.id },
      'aria-label': `Nudge ${a.name}`,
    });
    input.addEventListener('input', () => this.#nudgeDrafts.set(a.id, input.value));
    const send = () => {
      const text = input.value.trim();
      if (text === '') return;
      this.#nudgeDrafts.delete(a.id);
      this.opts.onNudge(a, text);
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') send();
      if (e.key === 'Escape') {
        this.#nudgeDrafts.delete(a.id);
        this.#rerender();
      }
    });
    const pending = action?.kind === 'pending' && action.action === 'nudge';
    return h(
      'tr',
      { class: 'agent-nudge', data: { nudgeRow: a.id } },
      h(
        'td',
        { colspan: String(COLUMNS.length) },
        h(
          'div',
          { class: 'nudge-box' },
          input,
          h(
            'button',
            { class: 'btn btn-small btn-primary', type: 'button', disabled: pending, data: { action: 'nudge-send', agentId: a.id }, on: { click: send } },
            'Send nudge',
          ),
          h(
            'button',
            {
              class: 'btn btn-small',
              type: 'button',
              on: {
                click: () => {
                  this.#nudgeDrafts.delete(a.id);
                  this.#rerender();
                },
              },
            },
            'Cancel',
          ),
        ),
      ),
    );
  }

  #actionsCell(a: Agent, reissue: ReissueState | undefined, action: AgentActionState | undefined): HTMLElement {
    const reissueButton = h(
      'button',
      {
        class: 'btn btn-small',
        type: 'button',
        title: 'Mint a new credential family and push it to the agent',
        disabled: reissue?.kind === 'pending',
        data: { action: 'reissue', agentId: a.id },
        on: { click: () => this.opts.onReissue(a) },
      },
      reissue?.kind === 'pending' ? 'Reissuing…' : 'Reissue',
    );
    const restarting = action?.kind === 'pending' && action.action === 'restart';
    const restartButton = h(
      'button',
      {
        class: 'btn btn-small',
        type: 'button',
        title: 'A new run of this agent (gen + 1); a polecat keeps its bead',
        disabled: restarting,
        data: { action: 'restart', agentId: a.id },
        on: { click: () => this.opts.onRestart(a) },
      },
      restarting ? 'Restarting…' : 'Restart',
    );
    const nudgeButton = isLive(a)
      ? h(
          'button',
          {
            class: 'btn btn-small',
            type: 'button',
            title: 'A short message the agent sees at its next turn',
            data: { action: 'nudge', agentId: a.id },
            on: {
              click: () => {
                if (!this.#nudgeDrafts.has(a.id)) this.#nudgeDrafts.set(a.id, '');
                this.#rerender();
                this.#body.querySelector<HTMLInputElement>(`input[data-nudge-for="${CSS.escape(a.id)}"]`)?.focus();
              },
            },
          },
          'Nudge',
        )
      : null;
    let outcome: HTMLElement | null = null;
    if (reissue?.kind === 'ok') {
      const ttl = formatDuration(reissue.tokenExpiresAt - reissue.at);
      outcome = h('div', { class: 'reissue-outcome tone-ok', role: 'status' }, `✓ ${reissue.outcome.replace(/_/g, ' ')} · valid ${ttl}`);
    } else if (reissue?.kind === 'error') {
      outcome = h('div', { class: 'reissue-outcome tone-bad', role: 'alert', title: reissue.message }, `✗ ${reissue.code}: ${oneLine(reissue.message, 160)}`);
    }
    const actionOutcome =
      action && action.kind !== 'pending'
        ? h(
            'div',
            {
              class: `action-outcome tone-${action.kind === 'ok' ? 'ok' : 'bad'}`,
              role: action.kind === 'ok' ? 'status' : 'alert',
              data: { outcomeOf: action.action },
            },
            action.text,
          )
        : null;
    return h('div', { class: 'reissue' }, h('div', { class: 'action-buttons' }, reissueButton, restartButton, nudgeButton), outcome, actionOutcome);
  }
}
