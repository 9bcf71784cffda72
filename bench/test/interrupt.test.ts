import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { isElephantError } from '@elephant/errors';
import { oneAtATime, spawnNode, stopSpawned } from '@elephant/bench';

const fixture = fileURLToPath(new URL('./fixtures/interrupted.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The fixture started, its processes' pids once it is ready, its output so far, and its exit code. */
async function started(env: Record<string, string> = {}): Promise<{ child: ChildProcess; pids: number[]; out: () => string; err: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  await vi.waitFor(() => expect(out).toMatch(/^\{.*\}\n/), { timeout: 20000, interval: 50 });
  const pids = Object.values(JSON.parse(out.split('\n')[0] ?? '{}') as Record<string, number>);
  return { child, pids, out: () => out, err: () => err, exited };
}

function killAll(child: ChildProcess, pids: readonly number[]): void {
  child.kill('SIGKILL');
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}

describe('a benchmark interrupted by a signal', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('on %s stops the processes it started, runs its clean-up (bounded) and exits %i (regression: they outlived it)', async (signal, code) => {
    const { child, pids, out, err, exited } = await started();
    try {
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(alive(pid)).toBe(true);
      child.kill(signal);
      const exitCode = await exited;
      // Its processes stopped before it exited (it waited for them; the stubborn one was killed).
      for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
      expect(exitCode).toBe(code);
      expect(out()).toContain('cleaned up\n');
      expect(err()).toContain(`${signal}: stopping the processes the benchmark started`);
      // The clean-up that never ends was given up on, and said so.
      expect(err()).toContain('the clean-up did not end within 1 s');
    } finally {
      killAll(child, pids);
    }
  }, 30000);

  it('exits at once on a second signal, its processes killed', async () => {
    // The stubborn process would have a minute to exit on SIGTERM.
    const { child, pids, out, err, exited } = await started({ GRACE_MS: '60000' });
    try {
      child.kill('SIGTERM');
      await vi.waitFor(() => expect(err()).toContain('SIGTERM: stopping'), { timeout: 10000, interval: 20 });
      child.kill('SIGINT');
      const exitCode = await exited;
      expect(exitCode).toBe(130);
      expect(out()).not.toContain('cleaned up');
      await vi.waitFor(() => {
        for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
      }, { timeout: 10000, interval: 20 });
    } finally {
      killAll(child, pids);
    }
  }, 30000);

  it('starts no process once it is stopping (a measurement in progress may be about to start the next)', async () => {
    await stopSpawned(0);
    let caught: unknown;
    try {
      spawnNode({ stage: ['-e', ''] }, {});
    } catch (error) {
      caught = error;
    }
    expect(isElephantError(caught, 'BENCH_INTERRUPTED')).toBe(true);
  });
});

describe('oneAtATime', () => {
  it('shares the call in progress and runs again once it ended (regression: a signal during a clean-up ran a second one alongside)', async () => {
    let runs = 0;
    let finish: () => void = () => undefined;
    const clean = oneAtATime(async () => {
      runs += 1;
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    const first = clean();
    const second = clean();
    expect(second).toBe(first);
    expect(runs).toBe(1);
    finish();
    await Promise.all([first, second]);
    const third = clean();
    expect(runs).toBe(2);
    finish();
    await third;
  });
});
