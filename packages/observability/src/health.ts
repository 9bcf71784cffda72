import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ElephantError } from '@elephant/errors';

/**
 * A health port this process cannot listen on: taken by another process, or privileged. The
 * port is configuration, so the runtime stops the service with exit code 78 naming the variable
 * (before, a fatal `listen EADDRINUSE` and exit 1, as if the service had crashed).
 */
export const HEALTH_ERROR_CODES = ['HEALTH_PORT_UNAVAILABLE'] as const;
export type HealthErrorCode = (typeof HEALTH_ERROR_CODES)[number];

export type ReadinessCheck = () => boolean;

export interface HealthServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * The address to listen on. Unset, every address: `::` dual-stack where the machine has IPv6
   * (IPv4 clients too), else `0.0.0.0`, as Node does; an IPv6-only pod's probes reach it.
   */
  readonly host?: string | undefined;
  readonly metrics: Registry;
  /** Named checks; the process is ready when all return true. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** The variable `port` comes from, named when it cannot be listened on. @default 'HEALTH_PORT' */
  readonly portVariable?: string;
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
  const host = options.host;
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => reject(listenError(error, options.portVariable ?? 'HEALTH_PORT', options.port, host));
    server.once('error', failed);
    server.listen({ port: options.port, host }, () => {
      server.off('error', failed);
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

/** HEALTH_PORT_UNAVAILABLE naming the variable for a port in use or privileged; other errors as they are. */
function listenError(error: NodeJS.ErrnoException, variable: string, port: number, host: string | undefined): Error {
  const where = host === undefined ? 'every address' : host;
  const details = { variable, port, host: where };
  if (error.code === 'EADDRINUSE') {
    return new ElephantError<HealthErrorCode>('HEALTH_PORT_UNAVAILABLE', `${variable}=${port}: another process already listens on port ${port} (${where}), perhaps another service on this host. Set ${variable} to a free port (0 picks one).`, { cause: error, details });
  }
  if (error.code === 'EACCES') {
    return new ElephantError<HealthErrorCode>('HEALTH_PORT_UNAVAILABLE', `${variable}=${port}: this process may not listen on port ${port} (${where}); ports below 1024 need root or CAP_NET_BIND_SERVICE. Set ${variable} to 1024 or above.`, { cause: error, details });
  }
  return error;
}
