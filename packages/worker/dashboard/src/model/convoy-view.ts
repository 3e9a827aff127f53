import type { Convoy } from '@gastown/protocol';

/** "2 of 3 closed" and the share done (0…1) of a convoy. Pure. */
export function convoyProgress(convoy: Pick<Convoy, 'progress'>): { text: string; fraction: number } {
  const { closed, total } = convoy.progress;
  return { text: `${closed} of ${total} closed`, fraction: total > 0 ? Math.min(1, closed / total) : 0 };
}

/** Open convoys first (newest first), then landed, then cancelled. */
export function sortConvoys(convoys: readonly Convoy[]): Convoy[] {
  const rank: Record<Convoy['status'], number> = { open: 0, landed: 1, cancelled: 2 };
  return [...convoys].sort((a, b) => rank[a.status] - rank[b.status] || b.createdAt - a.createdAt);
}
