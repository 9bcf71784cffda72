import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StackError } from './errors.ts';

const exec = promisify(execFile);

export interface Jdk {
  readonly java: string;
  readonly major: number;
  readonly home: string;
}

/** Finds JDKs: an explicit home first, then JAVA_HOME, /usr/lib/jvm/*, and `java` on PATH. */
export async function findJdks(explicitHomes: readonly (string | undefined)[], searchPath: string): Promise<Jdk[]> {
  const homes = new Set<string>();
  for (const home of explicitHomes) if (home) homes.add(home);
  if (existsSync('/usr/lib/jvm')) {
    for (const entry of readdirSync('/usr/lib/jvm')) homes.add(join('/usr/lib/jvm', entry));
  }
  const jdks: Jdk[] = [];
  const seen = new Set<string>();
  for (const home of homes) {
    const java = join(home, 'bin', 'java');
    if (!existsSync(java) || seen.has(java)) continue;
    const major = releaseMajor(home) ?? (await versionOf(java));
    if (major !== undefined) {
      jdks.push({ java, major, home });
      seen.add(java);
    }
  }
  const onPath = which('java', searchPath);
  if (onPath && !seen.has(onPath)) {
    const major = await versionOf(onPath);
    if (major !== undefined) jdks.push({ java: onPath, major, home: '' });
  }
  return jdks;
}

/** The JDK to use for a component: the explicit one if given, else the newest with at least `minMajor`. */
export function pickJdk(jdks: readonly Jdk[], minMajor: number, explicitHome: string | undefined, purpose: string): Jdk {
  if (explicitHome) {
    const jdk = jdks.find((candidate) => candidate.home === explicitHome);
    if (!jdk) throw new StackError('STACK_TOOL_MISSING', `ELEPHANT_JAVA_HOME=${explicitHome} has no bin/java.`);
    if (jdk.major < minMajor) throw new StackError('STACK_TOOL_MISSING', `${purpose} needs Java ${minMajor} or newer; ELEPHANT_JAVA_HOME points at Java ${jdk.major}.`);
    return jdk;
  }
  const usable = jdks.filter((jdk) => jdk.major >= minMajor).sort((a, b) => b.major - a.major);
  const best = usable[0];
  if (!best) {
    const found = jdks.length === 0 ? 'no Java at all' : `only Java ${jdks.map((jdk) => jdk.major).join(', ')}`;
    throw new StackError('STACK_TOOL_MISSING', `${purpose} needs Java ${minMajor} or newer, and this machine has ${found}. Install a JDK (Debian: apt-get install openjdk-17-jdk-headless) or set ELEPHANT_JAVA_HOME.`);
  }
  return best;
}

function releaseMajor(home: string): number | undefined {
  try {
    const release = readFileSync(join(home, 'release'), 'utf8');
    const match = /^JAVA_VERSION="(\d+)/m.exec(release);
    return match?.[1] ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function versionOf(java: string): Promise<number | undefined> {
  try {
    const { stderr } = await exec(java, ['-version']);
    const match = /version "(\d+)(?:\.(\d+))?/.exec(stderr);
    if (!match?.[1]) return undefined;
    const first = Number(match[1]);
    return first === 1 && match[2] ? Number(match[2]) : first;
  } catch {
    return undefined;
  }
}

export function which(command: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(':')) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function requireMaven(searchPath: string): string {
  const mvn = which('mvn', searchPath);
  if (!mvn) throw new StackError('STACK_TOOL_MISSING', 'Maven (mvn) is needed to download Kafka and the Schema Registry from Maven Central. Install it (Debian: apt-get install maven) and run again.');
  return mvn;
}

/**
 * redis-server from PATH or /usr/bin; installs Debian's package when missing and this
 * process may (root with apt-get), as `.ci/run` does on a fresh machine.
 */
export async function requireRedisServer(searchPath: string, log: (line: string) => void): Promise<string> {
  const found = which('redis-server', searchPath) ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : undefined);
  if (found) return found;
  const aptGet = which('apt-get', searchPath);
  if (aptGet && process.getuid?.() === 0) {
    log('redis-server is missing; installing Debian package redis-server');
    const install = ['DEBIAN_FRONTEND=noninteractive', aptGet, 'install', '-y', '-qq', 'redis-server'];
    await run('/usr/bin/env', install).catch(async () => {
      await run(aptGet, ['update', '-qq']);
      await run('/usr/bin/env', install);
    });
    if (existsSync('/usr/bin/redis-server')) return '/usr/bin/redis-server';
  }
  throw new StackError('STACK_TOOL_MISSING', 'redis-server is not installed. Install it (Debian: apt-get install redis-server) and run again.');
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: readonly string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-4000)}`));
    });
  });
}
