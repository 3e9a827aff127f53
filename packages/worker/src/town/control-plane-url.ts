/**
 * The control-plane URL handed to containers (their broker refreshes and every consumer's call go
 * there, each carrying a credential) must be `https:`, except to a loopback host — local
 * development, where the traffic never leaves the machine. Pure: no I/O.
 */

/** What a refused URL is told (no URL in it: the caller names the setting). */
export const CONTROL_PLANE_URL_RULE = 'must be an https: URL (http: only to a loopback host: 127.0.0.0/8, ::1 or localhost)';

/** Loopback as the WHATWG URL parser normalises it: 127.0.0.0/8 (any IPv4 spelling becomes dotted), [::1], localhost. */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** True for an `https:` URL, or an `http:` URL to a loopback host; false for anything else (or what does not parse). */
export function isAllowedControlPlaneUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHostname(url.hostname);
}
