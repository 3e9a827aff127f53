import type { ContainerRestartResponse } from '@gastown/protocol';
import { restartOutcome } from '../model/container-restart';
import { h } from '../view/dom';
import { showFormError } from '../view/forms';

export interface ContainerRestartOptions {
  restart(): Promise<ContainerRestartResponse>;
  /** Returns true when the error was handled (e.g. signed out). */
  onError(err: unknown): boolean;
}

/**
 * The Settings tab's "Container" section: env vars (provider keys) reach the container only when it
 * starts, and a working agent keeps it awake — "Restart container" makes a change take effect now.
 * The button stays disabled while the server drains the container (it answers once it has stopped).
 */
export class ContainerRestartSection {
  readonly el: HTMLElement;
  readonly #button = h('button', { class: 'btn', type: 'button', id: 'container-restart', data: { testid: 'container-restart' } }, 'Restart container');
  readonly #error = h('div', { class: 'form-error', role: 'alert', hidden: true, id: 'container-restart-error' });
  readonly #status = h('div', { class: 'form-ok', role: 'status', hidden: true, id: 'container-restart-status' });

  constructor(private readonly opts: ContainerRestartOptions) {
    this.#button.addEventListener('click', () => void this.#restart());
    this.el = h(
      'div',
      { class: 'settings-form', id: 'container-restart-section' },
      h('h3', null, 'Container'),
      h(
        'p',
        { class: 'muted small' },
        'Env vars and settings reach the town’s container when it starts. After changing a provider key, restart it: working polecats commit and push their work and start again at once; the mayor keeps its conversation.',
      ),
      h('div', { class: 'form-actions' }, this.#button),
      this.#error,
      this.#status,
    );
  }

  async #restart(): Promise<void> {
    if (this.#button.disabled) return;
    this.#button.disabled = true;
    this.#error.hidden = true;
    this.#status.textContent = 'Restarting… (the container drains first)';
    this.#status.hidden = false;
    try {
      this.#status.textContent = restartOutcome(await this.opts.restart());
    } catch (err) {
      this.#status.hidden = true;
      if (!this.opts.onError(err)) showFormError(err, this.#error, new Map());
    } finally {
      this.#button.disabled = false;
    }
  }
}
