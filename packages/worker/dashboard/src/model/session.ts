/** Where the dashboard keeps the pasted user token (this browser only). */
export const TOKEN_STORAGE_KEY = 'gastown.userToken';

export interface TokenSummary {
  userId: string | null;
  expiresAt: number | null;
}

/**
 * What the page may show about a token: its subject and expiry, read from the JWT payload without
 * verifying it (the server does that on every call). Never the token itself. Pure.
 */
export function summariseToken(token: string): TokenSummary {
  const part = token.split('.')[1];
  if (!part) return { userId: null, expiresAt: null };
  try {
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const claims = JSON.parse(json) as { sub?: unknown; exp?: unknown };
    return {
      userId: typeof claims.sub === 'string' ? claims.sub : null,
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
    };
  } catch {
    return { userId: null, expiresAt: null };
  }
}

/** The part of `localStorage` the session uses. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The token store over `localStorage` (injected for tests). */
export class Session {
  constructor(private readonly storage: KeyValueStore) {}

  token(): string | null {
    const value = this.storage.getItem(TOKEN_STORAGE_KEY);
    return value && value.trim() ? value.trim() : null;
  }

  signIn(token: string): void {
    this.storage.setItem(TOKEN_STORAGE_KEY, token.trim());
  }

  signOut(): void {
    this.storage.removeItem(TOKEN_STORAGE_KEY);
  }
}
