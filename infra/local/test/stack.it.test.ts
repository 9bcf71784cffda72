import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStack, loadStackConfig } from '@elephant/stack';

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

// A second, private stack on other ports in a temporary directory: this test owns it
// from nothing to gone, whatever the shared stack of the other tests is doing.
const dir = mkdtempSync(join(tmpdir(), 'elephant-stack-'));
const lines: string[] = [];
let stack: LocalStack | undefined;

afterAll(async () => {
  await stack?.down();
  rmSync(dir, { recursive: true, force: true });
});

describe('local stack lifecycle', () => {
  it('comes up from nothing, a second up is a no-op, and down leaves no process behind', async () => {
    const env = {
      PATH: process.env.PATH,
      JAVA_HOME: process.env.JAVA_HOME,
      ELEPHANT_STACK_DIR: dir,
      ELEPHANT_KAFKA_PORT: String(await freePort()),
      ELEPHANT_KAFKA_CONTROLLER_PORT: String(await freePort()),
      ELEPHANT_REGISTRY_PORT: String(await freePort()),
      ELEPHANT_REGISTRY_MANAGEMENT_PORT: String(await freePort()),
      ELEPHANT_REDIS_PORT: String(await freePort()),
    };
    stack = new LocalStack(loadStackConfig(env), (line) => lines.push(line));
    const first = await stack.up();
    console.log(`private stack up from nothing (downloads cached by Maven) in ${(first.totalMs / 1000).toFixed(1)} s: ${JSON.stringify(first.readyMs)}`);
    expect([...first.started].sort()).toEqual(['kafka', 'redis', 'registry']);
    expect(existsSync(join(dir, 'data', 'redis', 'appendonlydir'))).toBe(true);

    const status = await stack.status();
    expect(status.every((component) => component.running && component.ready)).toBe(true);
    const pids = status.map((component) => component.pid ?? -1);
    expect(pids.every(alive)).toBe(true);

    const second = await stack.up();
    expect(second.started).toEqual([]);
    expect((await stack.status()).map((component) => component.pid)).toEqual(pids);

    await stack.down();
    expect(pids.filter(alive)).toEqual([]);
    expect((await stack.status()).some((component) => component.running)).toBe(false);
  });

  it('names the variable to change when a port is taken', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => {
        const address = blocker.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
    try {
      const busy = new LocalStack(loadStackConfig({ PATH: process.env.PATH, ELEPHANT_STACK_DIR: join(dir, 'busy'), ELEPHANT_REDIS_PORT: String(port) }));
      await expect(busy.up()).rejects.toThrow(`Port ${port} for redis is taken by another process. Stop it, or pick a free port with ELEPHANT_REDIS_PORT=<port>.`);
    } finally {
      blocker.close();
    }
  });
});
