/** Small HTTP helpers shared by the git and REST sides of the fake GitHub. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { GastownError } from '@gastown/protocol';

/** Whole request body, gunzipped when git sent `Content-Encoding: gzip`. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new GastownError('payload_too_large', 'fake-github: request body too large');
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    const inflated = gunzipSync(raw, { maxOutputLength: maxBytes });
    return inflated;
  }
  return raw;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** GitHub's error body. */
export function githubError(message: string): { message: string; documentation_url: string } {
  return { message, documentation_url: 'https://docs.github.com/rest' };
}

/** `Authorization: Basic base64(user:password)` → its parts; null when absent or not Basic. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `Authorization: token X` or `Bearer X` (GitHub REST) → X; null otherwise. */
export function restToken(header: string | undefined): string | null {
  const match = /^(?:token|Bearer)\s+(\S+)$/i.exec(header ?? '');
  return match ? match[1]! : null;
}
