import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningServer {
  /** Base URL to reach the server on this machine. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serve a Hono app on Node; resolves once listening. Port 0 picks a free port. */
export function listen(app: Pick<Hono, 'fetch'>, options: { port: number; hostname: string }): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname: options.hostname }, (info: AddressInfo) => {
      server.off('error', reject);
      const host = options.hostname === '0.0.0.0' || options.hostname === '::' ? '127.0.0.1' : options.hostname;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}
