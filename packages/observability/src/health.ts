import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type ReadinessCheck = () => boolean;

export interface HealthServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** @default '0.0.0.0' */
  readonly host?: string;
  readonly metrics: Registry;
  /** Named checks; the process is ready when all return true. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
}

export interface HealthServer {
  readonly port: number;
  /** Marks the process as shutting down: readiness fails from now on, liveness stays up. */
  markShuttingDown(): void;
  close(): Promise<void>;
}

/**
 * Serves `/healthz` (liveness: the event loop answers), `/readyz` (readiness: every check
 * passes and the process is not shutting down; the body names failing checks) and
 * `/metrics` (Prometheus text format) for Kubernetes probes and scraping.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  let shuttingDown = false;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"alive"}');
      return;
    }
    if (path === '/readyz') {
      const failing = Object.entries(options.readiness)
        .filter(([, check]) => !check())
        .map(([name]) => name);
      if (shuttingDown) failing.push('shutting-down');
      const ready = failing.length === 0;
      response
        .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ready ? 'ready' : 'not-ready', failing }));
      return;
    }
    if (path === '/metrics') {
      options.metrics.metrics().then(
        (body) => response.writeHead(200, { 'content-type': options.metrics.contentType }).end(body),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    markShuttingDown: () => {
      shuttingDown = true;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
