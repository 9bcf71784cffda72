import { connect } from 'node:net';
import { createKafka } from '@elephant/kafka';
import { createLogger } from '@elephant/observability';

const silent = createLogger({ name: 'stack', level: 'silent' });

/** Redis answers PING with PONG. */
export function redisReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** The registry's Confluent-compatible API lists subjects. */
export async function registryReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/apis/ccompat/v7/subjects`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** The broker answers metadata requests and has a controller (KRaft quorum formed). */
export async function kafkaReady(port: number): Promise<boolean> {
  const admin = createKafka({ brokers: [`127.0.0.1:${port}`], clientId: 'elephant-stack', logger: silent, connectionTimeoutMs: 1000, requestTimeoutMs: 2000, retries: 0 }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
