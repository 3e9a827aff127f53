/** Pure formatting helpers (time comes in as a parameter). */

/** "2h 05m", "4m 09s", "12s" — a duration, never negative. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Time until `at`: "in 4m 09s", or "expired 12s ago" once passed. */
export function formatCountdown(at: number, now: number): string {
  return at > now ? `in ${formatDuration(at - now)}` : `expired ${formatDuration(now - at)} ago`;
}

/** "just now", "45s ago", "3m ago", "2h ago", "4d ago". */
export function formatAgo(at: number, now: number): string {
  const ms = now - at;
  if (ms < 5_000) return 'just now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s ago`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h ago`;
  return `${Math.floor(ms / 86_400_000)}d ago`;
}

/** "14:03:27" (24-hour, the viewer's locale and time zone). */
export function formatClock(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

/** Byte counts in binary units: "512 B", "4.2 KiB", "48 KiB", "1.5 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${Math.max(0, Math.round(bytes))} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  if (rounded >= 1024 && unit < units.length - 1) return `1 ${units[unit + 1]}`;
  return `${rounded} ${units[unit]}`;
}

/** "ag_1a2b3c…" — an id shortened for tables (the full id goes in a title attribute). */
export function shortId(id: string, keep = 10): string {
  return id.length <= keep ? id : `${id.slice(0, keep)}…`;
}

/** Seconds as the settings form shows them: "3600 s (1h 00m)". */
export function describeSeconds(seconds: number): string {
  return `${seconds} s (${formatDuration(seconds * 1000)})`;
}
