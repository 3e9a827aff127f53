/**
 * What the test proxies between containers and the control plane share (the fault proxy, the
 * control-plane proxy, the credential tap): a server on 127.0.0.1 and the answer when the upstream
 * cannot be reached.
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listen on 127.0.0.1 (`port` 0: any free one). The keep-alive is longer than any client's idle
 * pool: a server that closes an idle keep-alive connection first races the client reusing it, and
 * the request on it fails in milliseconds with a connection reset (seen as container_unavailable:
 * faults 1a and 6b, once each). The caller's stop() closes every connection itself.
 */
export async function listenOnLoopback(handle: RequestListener, port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer(handle);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** The upstream cannot be reached: 502 `control_plane_unavailable` as the control plane's own error body, or a dropped connection once the answer has begun. */
export function answerUpstreamUnreachable(res: ServerResponse, proxyName: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 'control_plane_unavailable', message: `${proxyName}: upstream unreachable` } }));
}
