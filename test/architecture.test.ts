/**
 * Mechanical checks of the layout rules in docs/architecture.md: no import cycles (between
 * files or between packages), services are imported by nobody but the CLI (which embeds them
 * for `elephant run`), domain packages import no I/O package.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workspaceDirs = ['packages', 'services'].flatMap((top) => readdirSync(join(root, top)).map((name) => join(top, name))).concat(['infra/local']);

interface Workspace {
  readonly name: string;
  readonly dir: string;
}

const workspaces: Workspace[] = workspaceDirs
  .filter((dir) => existsSync(join(root, dir, 'package.json')))
  .map((dir) => ({ dir, name: (JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { name: string }).name }));
const byName = new Map(workspaces.map((workspace) => [workspace.name, workspace]));

function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (full.endsWith('.ts') && !full.endsWith('.d.ts')) out.push(full);
    }
  };
  if (existsSync(join(root, dir, 'src'))) walk(join(root, dir, 'src'));
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const targets: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2];
    if (!specifier) continue;
    if (/^import\s+type\s/.test(match[0].trim())) continue; // type-only imports vanish at run time
    if (specifier.startsWith('.')) targets.push(resolve(dirname(file), specifier));
    else {
      const name = specifier.split('/').slice(0, 2).join('/');
      const workspace = byName.get(name);
      if (workspace) targets.push(join(root, workspace.dir, 'src', 'index.ts'));
    }
  }
  return targets;
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

const files = workspaces.flatMap((workspace) => sources(workspace.dir));
const fileGraph = new Map(files.map((file) => [file, importsOf(file)]));

describe('architecture', () => {
  it('has no import cycle between files', () => {
    const cycle = findCycle(fileGraph);
    expect(cycle?.map((file) => relative(root, file))).toBeUndefined();
  });

  it('has no dependency cycle between workspaces, and nothing imports a service', () => {
    const owner = (file: string): Workspace | undefined => workspaces.find((workspace) => file.startsWith(join(root, workspace.dir, 'src')));
    const graph = new Map<string, string[]>();
    for (const [file, targets] of fileGraph) {
      const from = owner(file)?.name;
      if (!from) continue;
      const to = targets.map((target) => owner(target)?.name).filter((name): name is string => name !== undefined && name !== from);
      graph.set(from, [...new Set([...(graph.get(from) ?? []), ...to])]);
    }
    expect(findCycle(graph)).toBeUndefined();
    const services = new Set(workspaces.filter((workspace) => workspace.dir.startsWith('services/')).map((workspace) => workspace.name));
    // The CLI is the one exception: `elephant run` embeds every service in one process.
    const importersOfServices = [...graph].filter(([from, targets]) => from !== '@elephant/cli' && targets.some((target) => services.has(target))).map(([from]) => from);
    expect(importersOfServices).toEqual([]);
  });

  it('loads kafkajs only through @elephant/kafka, after its read_committed fix', () => {
    // packages/kafka/src/read-committed.ts must run before kafkajs is first loaded.
    // (or loads one of its modules through internals.ts; encoder.ts is the exception: read-committed.ts loads it first)
    const runtimeImport = /(?:^|\n)\s*import\s+(?!type\b)[^'"]*?from\s+['"]kafkajs['"]|(?<!function )kafkajsModule<[^>]+>\(/;
    const outside = files.filter((file) => !file.startsWith(join(root, 'packages/kafka/src')) && runtimeImport.test(readFileSync(file, 'utf8')));
    expect(outside.map((file) => relative(root, file))).toEqual([]);
    const inside = sources('packages/kafka').filter((file) => !file.endsWith('/encoder.ts') && runtimeImport.test(readFileSync(file, 'utf8')));
    expect(inside.length).toBeGreaterThan(0);
    for (const file of inside) expect(readFileSync(file, 'utf8').startsWith("import './read-committed.ts';"), relative(root, file)).toBe(true);
  });

  it('sees the workspaces it checks', () => {
    expect(workspaces.length).toBeGreaterThanOrEqual(9);
    expect(files.length).toBeGreaterThan(20);
  });
});
