import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { ElephantError } from '@elephant/errors';
import { Counter, createLogger, createMetricsRegistry, startHealthServer, type HealthServer } from '@elephant/observability';

/** A logger writing into an array, one parsed JSON object per line. */
function capture(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ name: 'test', level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  return { lines, logger };
}

describe('logger redaction', () => {
  it('removes e-mail and phone fields, top level and one level down, and keeps the rest', () => {
    const { lines, logger } = capture();
    logger.info({ email: 'ada@example.com', phone: '+441234567890', eventId: 'e-1', person: { email: 'bob@example.com', phone: '+15550100', country: 'GB' } }, 'touchpoint');
    const [line] = lines;
    expect(line).toMatchObject({ email: '[redacted]', phone: '[redacted]', eventId: 'e-1', person: { email: '[redacted]', phone: '[redacted]', country: 'GB' }, msg: 'touchpoint', service: 'test' });
    const text = JSON.stringify(lines);
    for (const secret of ['ada@example.com', '+441234567890', 'bob@example.com', '+15550100']) expect(text).not.toContain(secret);
  });

  it("removes identifiers' values and whole traits and payloads", () => {
    const { lines, logger } = capture();
    logger.warn({ identifiers: [{ type: 'email', value: 'ada@example.com' }], traits: { firstName: 'Ada' }, payload: '{"email":"ada@example.com"}' }, 'bad input');
    expect(lines[0]).toMatchObject({ identifiers: [{ type: 'email', value: '[redacted]' }], traits: '[redacted]', payload: '[redacted]' });
    expect(JSON.stringify(lines)).not.toContain('ada@example.com');
  });
});

describe('health server', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('regression (a HEALTH_PORT in use failed as a fatal `listen EADDRINUSE`, exit 1): a port another process listens on is HEALTH_PORT_UNAVAILABLE, naming the variable', async () => {
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const taken = (other.address() as AddressInfo).port;
    try {
      const metrics = createMetricsRegistry({ service: 'test' });
      const error = await startHealthServer({ port: taken, host: '127.0.0.1', metrics, readiness: {} }).then((started) => started.close(), (caught: unknown) => caught);
      expect(error).toBeInstanceOf(ElephantError);
      expect(error).toMatchObject({ code: 'HEALTH_PORT_UNAVAILABLE', retryable: false, details: { variable: 'HEALTH_PORT', port: taken } });
      expect((error as Error).message).toContain(`HEALTH_PORT=${taken}: another process already listens on port ${taken}`);
      const named = await startHealthServer({ port: taken, host: '127.0.0.1', metrics, readiness: {}, portVariable: 'ADMIN_PORT' }).then((started) => started.close(), (caught: unknown) => caught);
      expect((named as Error).message).toContain('Set ADMIN_PORT to a free port');
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  /** Whether this machine has the IPv6 loopback address (a container without IPv6 has not). */
  const ipv6Loopback = Object.values(networkInterfaces()).some((addresses) => addresses?.some((address) => address.address === '::1') === true);

  it('listens on every address by default: IPv4 clients reach it', async () => {
    server = await startHealthServer({ port: 0, metrics: createMetricsRegistry({ service: 'test' }), readiness: {} });
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
  });

  it.skipIf(!ipv6Loopback)('regression (the default host was 0.0.0.0, IPv4 only: an IPv6 single-stack pod\'s probes never reached it): listens dual-stack by default, IPv6 and IPv4 clients reach it', async () => {
    server = await startHealthServer({ port: 0, metrics: createMetricsRegistry({ service: 'test' }), readiness: {} });
    expect((await fetch(`http://[::1]:${server.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);
  });

  it('a port in use on every address is HEALTH_PORT_UNAVAILABLE saying so', async () => {
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(0, resolve));
    const taken = (other.address() as AddressInfo).port;
    try {
      const error = await startHealthServer({ port: taken, metrics: createMetricsRegistry({ service: 'test' }), readiness: {} }).then((started) => started.close(), (caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'HEALTH_PORT_UNAVAILABLE', details: { variable: 'HEALTH_PORT', port: taken, host: 'every address' } });
      expect((error as Error).message).toContain(`HEALTH_PORT=${taken}: another process already listens on port ${taken} (every address), perhaps another service on this host.`);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('answers /healthz, flips /readyz with its checks and on shutdown, and serves /metrics', async () => {
    const metrics = createMetricsRegistry({ service: 'test' });
    const handled = new Counter({ name: 'elephant_test_handled_total', help: 'handled in the test', registers: [metrics] });
    handled.inc(3);
    let connected = false;
    server = await startHealthServer({ port: 0, host: '127.0.0.1', metrics, readiness: { kafka: () => connected } });
    const url = (path: string): string => `http://127.0.0.1:${server?.port ?? 0}${path}`;

    const live = await fetch(url('/healthz'));
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'alive' });

    const notReady = await fetch(url('/readyz'));
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not-ready', failing: ['kafka'] });
    connected = true;
    const ready = await fetch(url('/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', failing: [] });

    server.markShuttingDown();
    const draining = await fetch(url('/readyz'));
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: 'not-ready', failing: ['shutting-down'] });
    // Liveness stays up while the process drains: Kubernetes must not kill it mid-shutdown.
    expect((await fetch(url('/healthz'))).status).toBe(200);

    const scraped = await fetch(url('/metrics'));
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toContain('text/plain');
    const body = await scraped.text();
    expect(body).toContain('elephant_test_handled_total{service="test"} 3');
    expect(body).toContain('elephant_process_cpu_user_seconds_total');

    expect((await fetch(url('/nothing'))).status).toBe(404);
  });
});
