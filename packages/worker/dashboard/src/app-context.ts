import type { ApiClient } from './api/api-client';
import type { Session } from './model/session';

/** What every page gets from the shell. */
export interface AppContext {
  session: Session;
  /** A client for the signed-in user (throws when signed out). */
  api(): ApiClient;
  navigate(path: string): void;
  /** Forget the token and show the sign-in page, with an optional reason. */
  signOut(reason?: string): void;
  now(): number;
}

/** A mounted page: the shell calls `unmount` before showing another one. */
export interface Page {
  el: HTMLElement;
  unmount(): void;
}
