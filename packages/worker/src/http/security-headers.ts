import type { MiddlewareHandler } from 'hono';

/**
 * The Content-Security-Policy of everything the worker serves (API and dashboard alike): scripts,
 * styles, images, fonts and connections from this origin only, no inline script or style, no
 * plugins, no <base>, no framing, forms post only here. The dashboard is one module script
 * (/app.js), one stylesheet (/styles.css) and an icon file, and builds its DOM without inline
 * handlers or style attributes (dashboard/src/view/dom.ts), so nothing of it needs an exception.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Hardening headers on every response. The same table is in dashboard/static/_headers for the
 * dashboard's files, which the Workers assets layer serves without running the worker
 * (test/http/security-headers.test.ts keeps the two in step).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
});

/**
 * Sets SECURITY_HEADERS on the response after the handler ran, whatever produced it: a route,
 * the error handler, the not-found handler or an SSE stream. Register it before every route
 * (Hono runs middleware only for routes registered after it).
 */
export function securityHeaders(): MiddlewareHandler {
  const entries = Object.entries(SECURITY_HEADERS);
  return async function setSecurityHeaders(c, next) {
    await next();
    for (const [name, value] of entries) c.res.headers.set(name, value);
  };
}
