import { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import type { AppContext, Page } from '../app-context';
import { authFailureText } from '../model/auth-message';
import { h } from '../view/dom';

/**
 * Sign in by pasting a user token (the one `npm start` prints, or one an admin mints). The token
 * is checked against the API before it is stored in this browser's localStorage; a refused one
 * is explained in words (model/auth-message.ts).
 */
export function signInPage(ctx: AppContext, reason: string | null): Page {
  const input = h('textarea', {
    id: 'token',
    class: 'input mono',
    rows: 4,
    placeholder: 'eyJhbGciOiJIUzI1NiIs…',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const error = h('div', { class: 'form-error', role: 'alert', hidden: !reason }, reason ?? '');
  const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Sign in');

  async function onSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    error.hidden = true;
    try {
      await new ApiClient(token).listTowns();
      ctx.session.signIn(token);
      ctx.navigate(location.pathname);
    } catch (err) {
      error.textContent = err instanceof ApiError ? authFailureText(err.code, err.message) : 'Sign-in failed.';
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  }

  const el = h(
    'main',
    { class: 'signin' },
    h(
      'form',
      { class: 'card signin-card', on: { submit: (e) => void onSubmit(e) } },
      h('div', { class: 'signin-brand' }, h('span', { class: 'brand-mark brand-mark-lg' }, 'G'), h('h1', null, 'Gastown')),
      h('p', { class: 'muted' }, 'Paste your user token to manage your towns. It is kept in this browser only.'),
      h('label', { class: 'label', for: 'token' }, 'User token'),
      input,
      error,
      h('div', { class: 'form-actions' }, submit),
      h(
        'p',
        { class: 'hint', id: 'signin-hint' },
        'Running locally? ',
        h('code', null, 'npm start'),
        ' printed your token under “User token” when it started (it is also the ',
        h('code', null, 'token'),
        ' in ',
        h('code', null, '.gastown/cli.json'),
        '). Otherwise an admin mints one with ',
        h('code', null, 'npx gastown token create <you>'),
        '.',
      ),
    ),
  );
  return { el, unmount() {} };
}
