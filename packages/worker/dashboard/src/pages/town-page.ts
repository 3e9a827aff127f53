import type { Agent, Bead, Convoy, Mail, Rig, Town, TownEvent } from '@gastown/protocol';
import { ApiError } from '../api/api-error';
import { TownEventStream } from '../api/town-event-stream';
import type { AppContext, Page } from '../app-context';
import { ChatModel } from '../model/chat-model';
import { townModels } from '../model/config-patch';
import { panelsFor, type Panel } from '../model/event-routing';
import { beadCosts } from '../model/usage-view';
import { AgentsPanel, type AgentActionState, type ReissueState } from '../panels/agents-panel';
import { BeadEditor } from '../panels/bead-editor';
import { ConvoysPanel } from '../panels/convoys-panel';
import { BeadsBoard, EscalationsPanel, MergeRequestsPanel } from '../panels/beads-panels';
import { ChatPanel } from '../panels/chat-panel';
import { EventFeed } from '../panels/event-feed';
import { MailPanel } from '../panels/mail-panel';
import { RigsPanel } from '../panels/rigs-panel';
import { SettingsPanel } from '../panels/settings-panel';
import { UsagePanel } from '../panels/usage-panel';
import { h, replace } from '../view/dom';
import { topbar } from '../view/topbar';
import { TabBar } from '../view/tabs';
import { authFailureText } from '../model/auth-message';

/** Coalesce event-triggered refetches: a burst of events refetches each panel once. */
const REFRESH_DEBOUNCE_MS = 150;
/** Event-triggered usage refetches (bead costs) at most this often; model calls come in bursts. */
const USAGE_MIN_INTERVAL_MS = 5_000;
/** The usage tab, while it is shown, refetches this often (model calls are not all town events). */
const USAGE_POLL_MS = 30_000;

/**
 * One town: agents with credential health, the beads board (with each bead's cost), merge
 * requests, mail, escalations, rigs, usage and cost, settings, the mayor chat and the live event
 * feed. Data is fetched once on load and then refetched per panel only when a town event says it
 * changed; only the usage tab, while shown, also refetches every 30 s.
 */
export function townPage(ctx: AppContext, townId: string): Page {
  const api = () => ctx.api();
  const data = { town: null as Town | null, agents: [] as Agent[], beads: [] as Bead[], mail: [] as Mail[], rigs: [] as Rig[], convoys: [] as Convoy[] };
  const reissue = new Map<string, ReissueState>();
  const agentActions = new Map<string, AgentActionState>();
  const chat = new ChatModel();
  let alive = true;

  const agentsById = () => new Map(data.agents.map((a) => [a.id, a]));
  const names = () => ({ agents: agentsById(), rigs: new Map(data.rigs.map((r) => [r.id, r])) });

  /** Sign out on 401; returns true when the error was handled that way. */
  function authFailure(err: unknown): boolean {
    if (err instanceof ApiError && err.isAuthFailure) {
      ctx.signOut(authFailureText(err.code, err.message));
      return true;
    }
    return false;
  }
  const describe = (err: unknown) => (err instanceof ApiError ? `${err.code}: ${err.message}` : 'failed to load');

  const agentsPanel = new AgentsPanel({
    now: ctx.now,
    onReissue: (a) => void reissueCredentials(a),
    onRestart: (a) => void agentAction(a, 'restart'),
    onNudge: (a, text) => void agentAction(a, 'nudge', text),
  });
  /** A call whose 401 signs out (and is rethrown for the panel to stop). */
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      authFailure(err);
      throw err;
    }
  };
  const editor = new BeadEditor({
    api: {
      createBead: (req) => api().createBead(townId, req),
      updateBead: (id, patch) => api().updateBead(townId, id, patch),
      closeBead: (id) => api().closeBead(townId, id),
      reopenBead: (id) => api().reopenBead(townId, id),
      deleteBead: (id) => api().deleteBead(townId, id),
    },
    onError: authFailure,
    onSelectionChange: (id) => board.setSelected(id),
  });
  const board = new BeadsBoard({ onSelect: (b) => editor.openBead(b), onNew: () => editor.openNew() });
  const mergeRequests = new MergeRequestsPanel();
  const escalations = new EscalationsPanel({
    onAcknowledge: async (b) => void (await guarded(() => api().acknowledgeEscalation(townId, b.id))),
    onResolve: async (b) => void (await guarded(() => api().resolveEscalation(townId, b.id))),
  });
  const convoysPanel = new ConvoysPanel({
    createConvoy: (req) => api().createConvoy(townId, req),
    cancelConvoy: (id) => api().updateConvoy(townId, id, { status: 'cancelled' }),
    deleteConvoy: (id) => api().deleteConvoy(townId, id),
    onError: authFailure,
    onChanged: () => void refresh(['convoys']),
  });
  const mailPanel = new MailPanel();
  const rigsPanel = new RigsPanel({
    townId,
    api,
    onAdded: () => void refresh(['rigs']),
    onDeleted: () => void refresh(['rigs', 'beads', 'agents', 'convoys']),
    onError: authFailure,
  });
  const settings = new SettingsPanel({ townId, api, onSaved: (t) => renderTown(t), onError: authFailure });
  const chatPanel = new ChatPanel(chat, {
    send: (text) => api().postMayorMessage(townId, text),
    resetSession: async () => {
      const res = await api().resetMayorSession(townId);
      void refresh(['agents']); // the session line, and the mayor's status if it was stopped
      return res;
    },
    onError: authFailure,
  });
  const usagePanel = new UsagePanel({ onRefresh: () => refreshUsage(true) });
  /** Set once the first load has begun: from then on, opening the usage tab fetches it. */
  let started = false;
  let usageLastAt = 0;
  let usageTimer: ReturnType<typeof setTimeout> | null = null;
  const feed = new EventFeed(agentsById);
  const headerState = h('span', { class: 'stream-pill', data: { state: 'connecting' } }, 'connecting');
  const townHead = h('div', { class: 'town-head' }, h('h1', null, 'Loading…'));
  const providerBanner = h(
    'div',
    { class: 'banner banner-warn', id: 'no-provider-banner', role: 'alert', hidden: true },
    h('strong', null, 'No model provider. '),
    'Nothing is dispatched and the mayor cannot answer until this town has one: set it on the ',
    h(
      'a',
      {
        href: '#settings',
        id: 'no-provider-settings-link',
        on: {
          click: (e: MouseEvent) => {
            e.preventDefault();
            tabs.select('settings', true);
          },
        },
      },
      'Settings tab',
    ),
    ' (or `gastown town config`).',
  );

  const tabs = new TabBar(
    [
      { id: 'overview', title: 'Overview', content: [agentsPanel.el, editor.el, board.el] },
      { id: 'convoys', title: 'Convoys', content: [convoysPanel.el] },
      { id: 'merge-requests', title: 'Merge requests', content: [mergeRequests.el] },
      { id: 'mail', title: 'Mail', content: [mailPanel.el] },
      { id: 'escalations', title: 'Escalations', content: [escalations.el] },
      { id: 'rigs', title: 'Rigs', content: [rigsPanel.el] },
      { id: 'usage', title: 'Usage', content: [usagePanel.el] },
      { id: 'settings', title: 'Settings', content: [settings.el] },
    ],
    (id) => {
      if (id === 'usage' && started) refreshUsage(true);
    },
  );

  function renderTown(town: Town): void {
    data.town = town;
    providerBanner.hidden = town.config.provider != null;
    const model = townModels(town.config)?.default ?? null;
    replace(
      townHead,
      h('div', null, h('h1', { id: 'town-name' }, town.name), h('div', { class: 'muted mono small' }, town.id)),
      h(
        'dl',
        { class: 'facts' },
        h('div', null, h('dt', null, 'Runtime'), h('dd', null, town.config.runtime)),
        h('div', null, h('dt', null, 'Model'), h('dd', { class: model ? '' : 'muted', id: 'town-model' }, model ?? 'not set')),
        h('div', null, h('dt', null, 'Token TTL'), h('dd', null, `${town.config.agentTokenTtlSeconds}s`)),
        h('div', null, h('dt', null, 'Sleep after'), h('dd', null, `${town.config.sleepAfterSeconds}s`)),
      ),
    );
    settings.render(town);
    document.title = `${town.name} · Gastown`;
  }

  function renderAgents(): void {
    agentsPanel.render(data.agents, new Map(data.beads.map((b) => [b.id, b])), reissue, agentActions);
    const mayor = data.agents.find((a) => a.role === 'mayor') ?? null;
    if (mayor && chat.mayorId !== mayor.id) {
      chat.setMayor(mayor.id);
      chatPanel.render();
    }
    chatPanel.setMayor(mayor);
  }

  function renderBeads(): void {
    const n = names();
    board.render(data.beads, n);
    mergeRequests.render(data.beads, n);
    escalations.render(data.beads, n);
    editor.update(data.beads, data.rigs);
    convoysPanel.render(data.convoys, data.beads);
    tabs.setCount('merge-requests', data.beads.filter((b) => b.type === 'merge_request' && (b.status === 'open' || b.status === 'in_progress')).length);
    tabs.setCount('escalations', data.beads.filter((b) => b.type === 'escalation' && b.status !== 'closed').length);
  }

  const loaders: Record<Panel, () => Promise<void>> = {
    town: async () => renderTown(await api().getTown(townId)),
    agents: async () => {
      data.agents = await api().listAgents(townId);
      renderAgents();
      renderBeads(); // assignee names
      feed.refreshNames();
    },
    beads: async () => {
      data.beads = await api().listBeads(townId);
      renderBeads();
      renderAgents(); // bead titles in the agents table
    },
    convoys: async () => {
      data.convoys = await api().listConvoys(townId);
      convoysPanel.render(data.convoys, data.beads);
      tabs.setCount('convoys', data.convoys.filter((c) => c.status === 'open').length);
    },
    mail: async () => {
      data.mail = await api().listMail(townId);
      mailPanel.render(data.mail, agentsById());
      tabs.setCount('mail', data.mail.filter((m) => m.readAt === null).length);
    },
    rigs: async () => {
      data.rigs = await api().listRigs(townId);
      rigsPanel.render(data.rigs);
      tabs.setCount('rigs', data.rigs.length);
      editor.update(data.beads, data.rigs);
    },
    mayorMessages: async () => {
      chat.addUserMessages(await api().listMayorMessages(townId));
      chatPanel.render();
    },
    // Bead costs always; the totals, chart and spend only while the usage tab is shown.
    usage: async () => {
      const shown = tabs.selected === 'usage';
      const [byBead, byDay] = await Promise.all([api().usage(townId, 'bead'), shown ? api().usage(townId, 'day') : Promise.resolve(null)]);
      board.setCosts(beadCosts(byBead.rows));
      if (byDay) usagePanel.render(byDay, byBead, new Map(data.beads.map((b) => [b.id, b])), ctx.now());
    },
  };
  const errorSinks: Partial<Record<Panel, (text: string) => void>> = {
    agents: (t) => agentsPanel.showError(t),
    beads: (t) => board.showError(t),
    convoys: (t) => convoysPanel.showError(t),
    mail: (t) => mailPanel.showError(t),
    usage: (t) => usagePanel.showError(t),
  };

  /** Refetch usage now (`force`: the tab opened, the button, the 30 s tick), or no sooner than USAGE_MIN_INTERVAL_MS after the last. */
  function refreshUsage(force: boolean): void {
    if (!alive) return;
    const wait = usageLastAt + USAGE_MIN_INTERVAL_MS - ctx.now();
    if (!force && wait > 0) {
      usageTimer ??= setTimeout(() => {
        usageTimer = null;
        refreshUsage(true);
      }, wait);
      return;
    }
    if (usageTimer !== null) clearTimeout(usageTimer);
    usageTimer = null;
    usageLastAt = ctx.now();
    void refresh(['usage']);
  }
  const usagePoll = setInterval(() => {
    if (tabs.selected === 'usage' && document.visibilityState === 'visible') refreshUsage(true);
  }, USAGE_POLL_MS);

  async function refresh(panels: readonly Panel[]): Promise<void> {
    await Promise.all(
      panels.map(async (panel) => {
        try {
          await loaders[panel]();
        } catch (err) {
          if (!alive || authFailure(err)) return;
          if (panel === 'town' && err instanceof ApiError && err.code === 'not_found') {
            replace(townHead, h('div', { class: 'form-error' }, 'This town does not exist, or it is not yours.'));
            stream.stop();
            return;
          }
          errorSinks[panel]?.(describe(err));
        }
      }),
    );
  }

  const stale = new Set<Panel>();
  let flushHandle: ReturnType<typeof setTimeout> | null = null;
  function markStale(panels: readonly Panel[]): void {
    for (const p of panels) stale.add(p);
    // A bead that moved (a polecat finished, a review ran) has likely cost something since,
    // and its convoys' progress may have moved with it.
    if (panels.includes('beads')) {
      stale.add('usage');
      stale.add('convoys');
    }
    if (flushHandle !== null || stale.size === 0) return;
    flushHandle = setTimeout(() => {
      flushHandle = null;
      const batch = [...stale].filter((p) => p !== 'usage');
      const usage = stale.has('usage');
      stale.clear();
      if (!alive) return;
      if (batch.length) void refresh(batch);
      if (usage) refreshUsage(false);
    }, REFRESH_DEBOUNCE_MS);
  }

  async function reissueCredentials(agent: Agent): Promise<void> {
    reissue.set(agent.id, { kind: 'pending' });
    renderAgents();
    try {
      const res = await api().reissueCredentials(townId, agent.id);
      reissue.set(agent.id, { kind: 'ok', outcome: res.outcome, tokenExpiresAt: res.tokenExpiresAt, at: ctx.now() });
      data.agents = data.agents.map((a) => (a.id === res.agent.id ? res.agent : a));
    } catch (err) {
      if (authFailure(err)) return;
      const e = err instanceof ApiError ? err : new ApiError('unknown', 'the reissue failed', 0);
      reissue.set(agent.id, { kind: 'error', code: e.code, message: e.message, at: ctx.now() });
    }
    if (alive) renderAgents();
  }

  /** Restart or nudge an agent: the outcome under its buttons is the server's answer. */
  async function agentAction(agent: Agent, action: 'restart' | 'nudge', text = ''): Promise<void> {
    agentActions.set(agent.id, { kind: 'pending', action });
    renderAgents();
    try {
      if (action === 'restart') {
        const res = await api().restartAgent(townId, agent.id);
        agentActions.set(agent.id, { kind: 'ok', action, text: `✓ restarted · gen ${res.previousGen} → ${res.agent.credential.gen}` });
        data.agents = data.agents.map((a) => (a.id === res.agent.id ? res.agent : a));
      } else {
        const res = await api().nudgeAgent(townId, agent.id, text);
        agentActions.set(agent.id, { kind: 'ok', action, text: '✓ nudge delivered' });
        data.agents = data.agents.map((a) => (a.id === res.agent.id ? res.agent : a));
      }
    } catch (err) {
      if (authFailure(err)) return;
      const e = err instanceof ApiError ? err : new ApiError('unknown', `the ${action} failed`, 0);
      agentActions.set(agent.id, { kind: 'error', action, text: `✗ ${e.code}: ${e.message}` });
    }
    if (alive) renderAgents();
  }

  // Events arrive in bursts (history on connect); batch them per animation frame.
  let pendingEvents: TownEvent[] = [];
  let frame: number | null = null;
  function onEvent(event: TownEvent): void {
    pendingEvents.push(event);
    if (frame !== null) return;
    frame = requestAnimationFrame(() => {
      frame = null;
      const batch = pendingEvents;
      pendingEvents = [];
      let chatChanged = false;
      for (const e of batch) {
        chatChanged = chat.applyEvent(e) || chatChanged;
        markStale(panelsFor(e));
      }
      feed.add(batch);
      if (chatChanged) chatPanel.render();
    });
  }

  const stream = new TownEventStream({
    client: { openEventStream: (id, last, signal) => api().openEventStream(id, last, signal) },
    townId,
    onEvent,
    onState(state, detail) {
      feed.setState(state, detail);
      headerState.dataset.state = state;
      headerState.textContent = state === 'live' ? '● live' : state;
      headerState.title = detail ?? '';
    },
    onAuthFailure: (err) => ctx.signOut(authFailureText(err.code, err.message)),
  });

  const el = h(
    'div',
    { class: 'page' },
    topbar(
      ctx,
      [
        h('a', { href: '/', data: { nav: '' } }, 'Towns'),
        h('span', { class: 'crumb-sep' }, '/'),
        h('span', { class: 'crumb-current', id: 'crumb-town' }, townId),
      ],
      [headerState],
    ),
    h(
      'main',
      { class: 'town-layout' },
      h('div', { class: 'main-col' }, h('div', { class: 'card town-card-head' }, townHead), providerBanner, tabs.el),
      h('aside', { class: 'side-col' }, chatPanel.el, feed.el),
    ),
  );

  void (async () => {
    started = true;
    // Agents first: the chat needs the mayor's id before events are applied.
    await refresh(['town', 'agents', 'rigs']);
    const crumb = el.querySelector('#crumb-town');
    if (crumb && data.town) crumb.textContent = data.town.name;
    await refresh(['beads', 'convoys', 'mail', 'mayorMessages']);
    refreshUsage(true);
    if (alive) stream.start();
  })();

  return {
    el,
    unmount() {
      alive = false;
      stream.stop();
      clearInterval(usagePoll);
      if (usageTimer !== null) clearTimeout(usageTimer);
      if (flushHandle !== null) clearTimeout(flushHandle);
      if (frame !== null) cancelAnimationFrame(frame);
    },
  };
}
