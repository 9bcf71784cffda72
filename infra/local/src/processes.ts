import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { StackError } from './errors.ts';

/**
 * Starts a long-running process detached in its own process group, with stdout and stderr
 * appended to `logFile`, and returns its pid. It outlives the caller; `stopProcess` ends it.
 */
export function startDetached(command: string, args: readonly string[], logFile: string, cwd: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, [...args], { cwd, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new StackError('STACK_START_FAILED', `Could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether `pid` is a live (non-zombie) process whose working directory lies under `dir`,
 * so a pid recycled by an unrelated process is never mistaken for ours. (The working
 * directory, not the command line: redis-server rewrites its process title.)
 */
export function isOurProcess(pid: number, dir: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return cwd === dir || cwd.startsWith(`${dir}/`);
  } catch {
    return false;
  }
}

/** SIGTERM to the process group, then SIGKILL if it has not exited within `graceMs`. */
export async function stopProcess(pid: number, marker: string, graceMs: number): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isOurProcess(pid, marker)) return 'not-running';
  signalGroup(pid, 'SIGTERM');
  if (await waitFor(() => !isOurProcess(pid, marker), graceMs)) return 'stopped';
  signalGroup(pid, 'SIGKILL');
  await waitFor(() => !isOurProcess(pid, marker), 5000);
  return 'killed';
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Polls `condition` every 100 ms until it holds (true) or `timeoutMs` passes (false). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Whether nothing listens on 127.0.0.1:`port`. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
