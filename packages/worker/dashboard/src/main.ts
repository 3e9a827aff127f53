import { ApiClient } from './api/api-client';
import { ApiError } from './api/api-error';
import type { AppContext, Page } from './app-context';
import { formatAgo, formatCountdown } from './model/format';
import { Session } from './model/session';
import { signInPage } from './pages/sign-in-page';
import { townPage } from './pages/town-page';
import { townsPage } from './pages/towns-page';

/** The dashboard shell: session, routing (`/` and `/towns/:townId`), and one clock ticker for live times. */
function start(root: HTMLElement): void {
  const session = new Session(window.localStorage);
  let current: Page | null = null;
  let signOutReason: string | null = null;

  const ctx: AppContext = {
    session,
    api() {
      const token = session.token();
      if (!token) throw new ApiError('token_missing', 'signed out', 401);
      return new ApiClient(token);
    },
    navigate(path) {
      if (path !== location.pathname + location.hash) history.pushState(null, '', path);
      render();
    },
    signOut(reason) {
      session.signOut();
      signOutReason = reason ?? null;
      render();
    },
    now: () => Date.now(),
  };

  function route(): Page {
    if (!session.token()) {
      const page = signInPage(ctx, signOutReason);
      signOutReason = null;
      return page;
    }
    const town = /^\/towns\/([a-z]{2,6}_[a-z0-9]{6,40})\/?$/.exec(location.pathname);
    if (town?.[1]) return townPage(ctx, town[1]);
    if (location.pathname !== '/') history.replaceState(null, '', '/');
    return townsPage(ctx);
  }

  function render(): void {
    current?.unmount();
    current = route();
    root.replaceChildren(current.el);
    tick();
  }

  function tick(): void {
    const now = ctx.now();
    for (const el of root.querySelectorAll<HTMLElement>('.live-time')) {
      const at = Number(el.dataset.liveAt);
      if (!Number.isFinite(at)) continue;
      const countdown = el.dataset.liveKind === 'countdown';
      el.textContent = countdown ? formatCountdown(at, now) : formatAgo(at, now);
      if (countdown) el.classList.toggle('is-past', at <= now);
    }
  }

  window.addEventListener('popstate', render);
  // Clicks on internal links navigate without a reload.
  root.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest?.('a[data-nav]');
    if (!link || event.defaultPrevented || (event as MouseEvent).metaKey || (event as MouseEvent).ctrlKey) return;
    event.preventDefault();
    ctx.navigate(link.getAttribute('href') ?? '/');
  });
  // A display clock (countdowns, "12s ago"): it only re-renders text, it never calls the server.
  setInterval(tick, 1000);
  render();
}

const root = document.getElementById('app');
if (root) start(root);
