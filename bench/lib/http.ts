/**
 * One HTTP request on its own connection (no keep-alive pool). For setup and timing requests
 * that are far apart: a pooled socket the server has meanwhile closed makes Node's fetch fail
 * a POST with ECONNRESET (it never retries a POST), which is the client's race, not the
 * server's answer.
 */
import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  text: string;
  ms: number;
}

export function httpJson(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<HttpAnswer> {
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const headers: Record<string, string> = { accept: 'application/json', ...(init.headers ?? {}) };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? (payload === undefined ? 'GET' : 'POST'), headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
