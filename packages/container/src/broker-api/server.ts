/** Serve the broker API on loopback (port 0 = a random free port). */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { BrokerApi } from './app';

export interface BrokerServer {
  /** e.g. http://127.0.0.1:41234 — what the agent gets as GASTOWN_BROKER_URL. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function startBrokerServer(api: Pick<BrokerApi, 'app'>, options: { hostname?: string; port?: number } = {}): Promise<BrokerServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: api.app.fetch, hostname, port: options.port ?? 0 }, (info: AddressInfo) => {
      resolve({
        url: `http://${hostname}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            const http = server as Server;
            http.closeAllConnections?.();
            http.close(() => done());
          }),
      });
    }) as Server;
    server.once('error', reject);
  });
}
