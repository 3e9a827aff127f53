/** A bead's pull request (metadata `pullRequest`, see the protocol's PullRequestRef) as the dashboard shows it. Pure. */

export type PullRequestState = 'open' | 'merged' | 'closed';

export interface PullRequestView {
  number: number;
  state: PullRequestState;
  /** The link target: an http(s) URL, or null when the URL is anything else (then no link is rendered). */
  href: string | null;
  /** `PR #12 · open`. */
  label: string;
  tone: 'info' | 'ok' | 'warn';
}

/** The element that shows a pull request: a link only for an http(s) URL, opened without a handle on the dashboard. */
export type PullRequestElement =
  | { tag: 'a'; attrs: { class: string; href: string; target: '_blank'; rel: 'noopener noreferrer'; title: string; data: { prState: PullRequestState } } }
  | { tag: 'span'; attrs: { class: string; title: string } };

const STATES: ReadonlySet<string> = new Set(['open', 'merged', 'closed']);
const TONE: Record<PullRequestState, PullRequestView['tone']> = { open: 'info', merged: 'ok', closed: 'warn' };

/** `url` if it is an absolute http(s) URL (normalised by the URL parser), else null: never `javascript:`, `data:`… */
export function safeHttpUrl(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
}

/** The bead's pull request, or null when its metadata has none (or not a well-formed one). */
export function pullRequestView(metadata: Record<string, unknown>): PullRequestView | null {
  const pr = metadata.pullRequest;
  if (typeof pr !== 'object' || pr === null) return null;
  const { number, state, url } = pr as { number?: unknown; state?: unknown; url?: unknown };
  if (typeof number !== 'number' || !Number.isInteger(number) || number <= 0) return null;
  if (typeof state !== 'string' || !STATES.has(state)) return null;
  const s = state as PullRequestState;
  return { number, state: s, href: safeHttpUrl(url), label: `PR #${number} · ${s}`, tone: TONE[s] };
}

/** How `pullRequestLink` renders `pr`: `<a … rel="noopener noreferrer">` for an http(s) URL, else a plain `<span>`. */
export function pullRequestElement(pr: PullRequestView): PullRequestElement {
  const cls = `pr-link badge badge-${pr.tone}`;
  if (pr.href === null) return { tag: 'span', attrs: { class: cls, title: 'the pull request URL is not a web address' } };
  return { tag: 'a', attrs: { class: cls, href: pr.href, target: '_blank', rel: 'noopener noreferrer', title: pr.href, data: { prState: pr.state } } };
}
