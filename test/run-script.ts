/** Runs a test fixture script in a child Node process, for tests of how a process starts, stops and exits. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ScriptRun {
  /** The exit code; null when the child was ended by a signal (SIGKILL after `killAfterMs`). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunScriptOptions {
  /** @default only PATH */
  readonly env?: NodeJS.ProcessEnv;
  /** Told the output so far after each chunk of either stream, with the child (to signal it). */
  readonly onOutput?: (output: { readonly stdout: string; readonly stderr: string }, child: ChildProcess) => void;
  /** A child still running this long is killed (SIGKILL), so a hang fails the test instead of timing it out. */
  readonly killAfterMs?: number;
}

/** Runs `script` with `args` under this Node until it exits; its stdout and stderr whole. */
export async function runScript(script: string, args: readonly string[], options: RunScriptOptions = {}): Promise<ScriptRun> {
  const child = spawn(process.execPath, [script, ...args], { env: options.env ?? { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
    options.onOutput?.(output, child);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
    options.onOutput?.(output, child);
  });
  const deadline = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(deadline);
  return { code, ...output };
}
