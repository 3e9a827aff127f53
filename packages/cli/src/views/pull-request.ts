/**
 * A bead's pull request (`metadata.pullRequest`, set on a merge request and its source bead when
 * the rig merges through pull requests) as `gastown beads` shows it: a `#12 open` cell and, under
 * the table, one line per pull request with its URL. Pure.
 */
import { PullRequestRefSchema, type Bead, type PullRequestRef } from '@gastown/protocol';
import type { Cell } from '../output/table';
import { redactUrlCredentials } from '../output/redact';

/** The bead's pull request, or null when it has none (or the metadata is not a pull request reference). */
export function pullRequestOf(bead: Pick<Bead, 'metadata'>): PullRequestRef | null {
  const parsed = PullRequestRefSchema.safeParse(bead.metadata.pullRequest);
  return parsed.success ? parsed.data : null;
}

/**
 * The URL as safe terminal text: only http(s), normalised by the URL parser (control characters
 * percent-encoded or dropped), any embedded credential masked. Null for anything else.
 */
export function printableUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  return redactUrlCredentials(parsed.href);
}

/** `#12 open` (closed unmerged in yellow), `-` without one. */
export function pullRequestCell(bead: Pick<Bead, 'metadata'>): Cell {
  const pr = pullRequestOf(bead);
  if (!pr) return '-';
  return { text: `#${pr.number} ${pr.state}`, colour: pr.state === 'closed' ? 'yellow' : null };
}

/**
 * One line per distinct pull request of `beads` (a merge request and its source bead share one):
 * `#12 open  https://github.com/acme/web/pull/12  (bd_a, bd_b)`.
 */
export function pullRequestLines(beads: readonly Pick<Bead, 'id' | 'metadata'>[]): string[] {
  const byUrl = new Map<string, { pr: PullRequestRef; beads: string[] }>();
  for (const bead of beads) {
    const pr = pullRequestOf(bead);
    if (!pr) continue;
    const entry = byUrl.get(pr.url);
    if (entry) entry.beads.push(bead.id);
    else byUrl.set(pr.url, { pr, beads: [bead.id] });
  }
  return [...byUrl.values()].map(({ pr, beads: ids }) => `#${pr.number} ${pr.state}  ${printableUrl(pr.url) ?? '(not a web URL)'}  (${ids.join(', ')})`);
}
