/**
 * Mechanical checks of the layout rules in docs/architecture.md: no import cycles (between
 * files or between packages), services are imported by nobody but the CLI and the benchmark
 * (which embed them in one process), domain packages import no I/O package. Lint enforces the first with
 * elephant/no-import-cycle (lint/plugin.js) file by file; this test checks the rule itself on
 * a fixture, and the whole graph once more by its own simpler means.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workspaceDirs = ['packages', 'services'].flatMap((top) => readdirSync(join(root, top)).map((name) => join(top, name))).concat(['infra/local', 'bench']);

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

// `import x from`, `export ... from`, side-effect `import './x.ts'`, and `import('x')`.
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const targets: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (!specifier) continue;
    if (/^(?:import|export)\s+type\s/.test(match[0].trim())) continue; // type-only imports vanish at run time
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
    // Two exceptions embed services in one process: the CLI (`elephant run`) and the
    // benchmark (bench/, which drives the same pipeline and reuses the CLI's measurements).
    const embedders = new Set(['@elephant/cli', '@elephant/bench']);
    const importersOfServices = [...graph].filter(([from, targets]) => !embedders.has(from) && targets.some((target) => services.has(target))).map(([from]) => from);
    expect(importersOfServices).toEqual([]);
  });

  it('loads kafkajs only through @elephant/kafka, after its read_committed fix', () => {
    // packages/kafka/src/read-committed.ts must run before kafkajs is first loaded.
    // (or loads one of its modules through internals.ts; the exceptions are the corrections
    // read-committed.ts itself imports first, before kafkajs: encoder.ts, crc32c.ts, ...)
    const runtimeImport = /(?:^|\n)\s*import\s+(?!type\b)[^'"]*?from\s+['"]kafkajs['"]|(?<!function )kafkajsModule<[^>]+>\(/;
    const outside = files.filter((file) => !file.startsWith(join(root, 'packages/kafka/src')) && runtimeImport.test(readFileSync(file, 'utf8')));
    expect(outside.map((file) => relative(root, file))).toEqual([]);
    const loadedFirst = new Set([...readFileSync(join(root, 'packages/kafka/src/read-committed.ts'), 'utf8').matchAll(/^import '\.\/([\w-]+\.ts)';$/gm)].map((match) => join(root, 'packages/kafka/src', match[1] ?? '')));
    expect([...loadedFirst].map((file) => relative(root, file))).toEqual(['packages/kafka/src/encoder.ts', 'packages/kafka/src/crc32c.ts', 'packages/kafka/src/group-per-partition.ts', 'packages/kafka/src/send-messages.ts', 'packages/kafka/src/record-decoder.ts', 'packages/kafka/src/record-encoder.ts']);
    const inside = sources('packages/kafka').filter((file) => !loadedFirst.has(file) && runtimeImport.test(readFileSync(file, 'utf8')));
    expect(inside.length).toBeGreaterThan(0);
    for (const file of inside) expect(readFileSync(file, 'utf8').startsWith("import './read-committed.ts';"), relative(root, file)).toBe(true);
  });

  it('sees side-effect imports (regression: `import \'./read-committed.ts\'` was not an edge)', () => {
    const client = join(root, 'packages/kafka/src/client.ts');
    expect(fileGraph.get(client)).toContain(join(root, 'packages/kafka/src/read-committed.ts'));
  });

  it('lint reports import cycles (workspace entry points, side-effect imports, re-exports) and relative imports into another workspace, and nothing else', async () => {
    const eslint = new ESLint({ cwd: root, overrideConfigFile: 'lint/fixtures/eslint.config.js', ignore: false });
    const results = await eslint.lintFiles(['lint/fixtures/repo/**/*.ts']);
    const found = results.flatMap((result) => result.messages.map((message) => `${relative(join(root, 'lint/fixtures/repo'), result.filePath)} ${message.ruleId ?? message.message}`)).sort();
    expect(found).toEqual([
      'packages/one/src/index.ts elephant/no-import-cycle',
      'packages/one/src/index.ts elephant/no-relative-cross-package',
      'packages/three/src/a.ts elephant/no-import-cycle',
      'packages/three/src/b.ts elephant/no-import-cycle',
      'packages/three/src/c.ts elephant/no-import-cycle',
      'packages/two/src/index.ts elephant/no-import-cycle',
    ]);
    const cycle = results.find((result) => result.filePath.endsWith('three/src/b.ts'))?.messages[0]?.message;
    expect(cycle).toBe('Import cycle: packages/three/src/b.ts -> packages/three/src/c.ts -> packages/three/src/a.ts -> packages/three/src/b.ts.');
  });

  it('sees the workspaces it checks', () => {
    expect(workspaces.length).toBeGreaterThanOrEqual(9);
    expect(workspaces.map((workspace) => workspace.dir)).toContain('bench');
    expect(files.length).toBeGreaterThan(20);
  });
});
