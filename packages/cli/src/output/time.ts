/** Short human durations: `45s`, `12m`, `3h 5m`, `2d 4h`. */
export function formatDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** How long ago `at` was: `12m ago`, or `-` when never. */
export function formatAge(at: number | null, now: number): string {
  if (at === null) return '-';
  const ms = now - at;
  return ms < 0 ? `in ${formatDuration(ms)}` : `${formatDuration(ms)} ago`;
}

/** Time until `at`: `58m`, `expired 3m ago`, or `-`. */
export function formatUntil(at: number | null, now: number): string {
  if (at === null) return '-';
  const ms = at - now;
  return ms <= 0 ? `expired ${formatDuration(ms)} ago` : formatDuration(ms);
}

/** `2026-01-31 14:05 UTC`. */
export function formatTimestamp(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
