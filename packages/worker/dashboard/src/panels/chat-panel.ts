import type { Agent, MayorMessageResponse, MayorSessionResetResponse } from '@gastown/protocol';
import { ApiError } from '../api/api-error';
import type { ChatEntry, ChatModel } from '../model/chat-model';
import { formatClock } from '../model/format';
import { mayorSessionView, resetOutcome } from '../model/mayor-session';
import { badge, h, liveTime, replace } from '../view/dom';

export interface ChatPanelOptions {
  send(text: string): Promise<MayorMessageResponse>;
  /** DELETE the mayor's saved conversation ("New conversation", once confirmed). */
  resetSession(): Promise<MayorSessionResetResponse>;
  onError(err: unknown): boolean;
}

const DELIVERY_TEXT: Record<MayorMessageResponse['delivery'], string> = {
  delivered: 'Delivered to the mayor.',
  started: 'The mayor is starting; it will answer shortly.',
  stored: 'Stored: the mayor is not running yet and gets the message when it starts.',
  failed: 'Stored, but delivery to the running mayor failed; see the event feed.',
};

/**
 * The conversation with the mayor: messages, streamed replies and tool calls, a typing indicator,
 * when the conversation was last saved, and "New conversation" (confirmed inline) to start over.
 */
export class ChatPanel {
  readonly el: HTMLElement;
  readonly #log = h('div', { class: 'chat-log', id: 'chat-log', role: 'log', 'aria-live': 'polite' });
  readonly #typing = h(
    'div',
    { class: 'chat-typing', id: 'chat-typing', hidden: true },
    h('span', { class: 'dots' }, h('i'), h('i'), h('i')),
    ' The mayor is working…',
  );
  readonly #status = h('div', { class: 'chat-status', id: 'chat-status', role: 'status' });
  readonly #mayorBadge = h('span', { class: 'chat-mayor-status' });
  readonly #session = h('div', { class: 'chat-session muted small', id: 'chat-session' });
  readonly #newButton = h(
    'button',
    { class: 'btn btn-small btn-quiet', type: 'button', id: 'chat-new', title: 'Forget the saved conversation; the mayor starts afresh' },
    'New conversation',
  );
  readonly #confirmYes = h('button', { class: 'btn btn-small btn-danger', type: 'button', id: 'chat-new-confirm' }, 'Delete and start new');
  readonly #confirmNo = h('button', { class: 'btn btn-small btn-quiet', type: 'button', id: 'chat-new-cancel' }, 'Cancel');
  readonly #confirm = h(
    'div',
    { class: 'chat-confirm', id: 'chat-new-confirm-row', role: 'alertdialog', 'aria-label': 'Start a new conversation', hidden: true },
    h('span', null, 'Start a new conversation? The saved one is deleted and the mayor starts afresh.'),
    this.#confirmYes,
    this.#confirmNo,
  );
  readonly #input = h('textarea', {
    id: 'chat-input',
    class: 'input chat-input',
    rows: 2,
    placeholder: 'Message the mayor…  (Enter to send, Shift+Enter for a new line)',
  });
  readonly #send = h('button', { class: 'btn btn-primary', type: 'submit', id: 'chat-send' }, 'Send');
  /** Replies seen when the last message was sent: a newer reply clears the delivery note. */
  #repliesAtSend: number | null = null;

  constructor(
    private readonly model: ChatModel,
    private readonly opts: ChatPanelOptions,
  ) {
    this.#input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.#submit();
      }
    });
    this.el = h(
      'section',
      { class: 'card panel chat', id: 'chat-panel' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Mayor'), this.#mayorBadge, this.#newButton),
      this.#session,
      this.#confirm,
      this.#log,
      this.#typing,
      h(
        'form',
        {
          class: 'chat-form',
          on: {
            submit: (e) => {
              e.preventDefault();
              void this.#submit();
            },
          },
        },
        this.#input,
        this.#send,
      ),
      this.#status,
    );
    this.#newButton.addEventListener('click', () => this.#askToReset(true));
    this.#confirmNo.addEventListener('click', () => this.#askToReset(false));
    this.#confirmYes.addEventListener('click', () => void this.#reset());
    this.render();
  }

  setMayor(mayor: Agent | null): void {
    replace(
      this.#mayorBadge,
      mayor ? badge(mayor.status, mayor.status === 'working' ? 'ok' : mayor.status === 'failed' ? 'bad' : 'muted', `mayor ${mayor.id}`) : null,
    );
    const view = mayorSessionView(mayor?.session);
    this.#session.title = view.title;
    this.#session.dataset.saved = view.savedAt === null ? 'no' : 'yes';
    if (view.savedAt === null) replace(this.#session, 'Session not saved yet');
    else replace(this.#session, 'Session saved ', liveTime('ago', view.savedAt), ` · ${view.facts}`);
  }

  render(): void {
    const atBottom = this.#log.scrollHeight - this.#log.scrollTop - this.#log.clientHeight < 40;
    const entries = this.model.entries();
    replace(
      this.#log,
      entries.length
        ? entries.map((e) => this.#entry(e))
        : h('div', { class: 'chat-empty' }, 'Say hello to your mayor. It plans the work, creates beads and dispatches polecats.'),
    );
    this.#typing.hidden = !this.model.busy;
    const replies = entries.filter((e) => e.kind !== 'user').length;
    if (this.#repliesAtSend !== null && replies > this.#repliesAtSend) {
      this.#repliesAtSend = null;
      this.#status.textContent = '';
    }
    if (atBottom || entries.at(-1)?.kind === 'user') this.#log.scrollTop = this.#log.scrollHeight;
  }

  #entry(e: ChatEntry): HTMLElement {
    switch (e.kind) {
      case 'user':
        return h(
          'div',
          { class: 'msg msg-user', data: { kind: 'user' } },
          h('div', { class: 'msg-bubble' }, e.text),
          h('div', { class: 'msg-meta' }, formatClock(e.at), e.failed ? ' · not delivered' : e.delivered ? ' · delivered' : ' · waiting for the mayor'),
        );
      case 'text':
        return h(
          'div',
          { class: 'msg msg-mayor', data: { kind: 'text' } },
          h('div', { class: 'msg-bubble' }, e.text),
          h('div', { class: 'msg-meta' }, `mayor · ${formatClock(e.at)}`),
        );
      case 'tool': {
        const tone = e.state === 'completed' ? 'ok' : e.state === 'error' ? 'bad' : 'info';
        return h(
          'details',
          { class: 'msg-tool', data: { kind: 'tool', tool: e.tool, state: e.state } },
          h('summary', null, h('span', { class: 'tool-icon' }, '⚙'), h('span', { class: 'mono' }, e.tool), ' ', badge(e.state, tone)),
          e.input ? h('pre', { class: 'tool-io' }, h('span', { class: 'muted' }, 'input  '), e.input) : null,
          e.output ? h('pre', { class: 'tool-io' }, h('span', { class: 'muted' }, 'output '), e.output) : null,
        );
      }
      case 'error':
        return h('div', { class: 'msg msg-error', data: { kind: 'error' } }, e.text);
    }
  }

  #askToReset(open: boolean): void {
    this.#confirm.hidden = !open;
    this.#newButton.disabled = open;
    if (open) this.#confirmNo.focus();
  }

  async #reset(): Promise<void> {
    if (this.#confirmYes.disabled) return;
    this.#confirmYes.disabled = true;
    this.#send.disabled = true;
    this.#status.className = 'chat-status';
    this.#status.textContent = 'Starting a new conversation…';
    try {
      const res = await this.opts.resetSession();
      this.model.startNewConversation();
      this.#repliesAtSend = null;
      this.#askToReset(false);
      this.#status.className = 'chat-status tone-ok';
      this.#status.textContent = resetOutcome(res);
      this.render();
    } catch (err) {
      if (this.opts.onError(err)) return;
      this.#status.className = 'chat-status tone-bad';
      this.#status.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : 'starting a new conversation failed';
    } finally {
      this.#confirmYes.disabled = false;
      this.#send.disabled = false;
    }
  }

  async #submit(): Promise<void> {
    const text = this.#input.value.trim();
    if (!text || this.#send.disabled) return;
    this.#send.disabled = true;
    this.#status.className = 'chat-status';
    this.#status.textContent = 'Sending…';
    try {
      const res = await this.opts.send(text);
      this.#input.value = '';
      this.#repliesAtSend = this.model.entries().filter((e) => e.kind !== 'user').length;
      this.model.addUserMessages([res.message]);
      this.setMayor(res.mayor);
      this.#status.className = `chat-status tone-${res.delivery === 'failed' ? 'bad' : res.delivery === 'stored' ? 'warn' : 'ok'}`;
      this.#status.textContent = DELIVERY_TEXT[res.delivery];
      this.render();
    } catch (err) {
      if (this.opts.onError(err)) return;
      this.#status.className = 'chat-status tone-bad';
      this.#status.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : 'sending failed';
    } finally {
      this.#send.disabled = false;
      this.#input.focus();
    }
  }
}
