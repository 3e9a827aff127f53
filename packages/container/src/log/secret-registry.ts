/**
 * The set of secret values a logger must never print. The broker adds every access token,
 * refresh credential and broker key it holds, and removes them when it forgets them.
 * Reference-counted, so two holders of the same value do not unregister each other.
 */
/** Values a logger must redact. Implemented by `SecretRegistry`. */
export interface SecretSink {
  add(secret: string): void;
  remove(secret: string): void;
}

/** Where the current secret values are read from (the event sink, the supervisor). Implemented by `SecretRegistry`. */
export interface SecretSource {
  /** Longest first. */
  values(): readonly string[];
}

/** Shorter values are not registered: redacting them would mangle ordinary text. */
export const MIN_SECRET_LENGTH = 8;

export class SecretRegistry implements SecretSink, SecretSource {
  readonly #counts = new Map<string, number>();

  add(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH) return;
    this.#counts.set(secret, (this.#counts.get(secret) ?? 0) + 1);
  }

  remove(secret: string): void {
    const count = this.#counts.get(secret);
    if (count === undefined) return;
    if (count <= 1) this.#counts.delete(secret);
    else this.#counts.set(secret, count - 1);
  }

  has(secret: string): boolean {
    return this.#counts.has(secret);
  }

  get size(): number {
    return this.#counts.size;
  }

  /** Longest first, so a secret that contains another is replaced whole. */
  values(): string[] {
    return [...this.#counts.keys()].sort((a, b) => b.length - a.length);
  }
}
