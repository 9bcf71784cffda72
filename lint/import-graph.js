// The module graph of the repository's own TypeScript files, for the local lint rules in
// plugin.js. Plain JavaScript on purpose: eslint.config.js loads it on whatever Node runs
// ESLint, and it needs no dependency beyond `typescript`, which the repository already has.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * A file's imports that exist when it runs: `import type` and `export type` are erased, but
 * `import { type A } from './a.ts'` is kept as `import {} from './a.ts'` under
 * verbatimModuleSyntax, so it still loads the module.
 * @typedef {{ specifier: string, dynamic: boolean }} ImportEdge
 */

/** How long a parsed file is trusted before its mtime is checked again (editors, watch modes). */
const RECHECK_MS = 5000;

/** @type {Map<string, { mtimeMs: number, checkedAt: number, edges: ImportEdge[], targets?: string[] }>} */
const parsed = new Map();

/**
 * Runtime imports of one source text (static, side-effect, re-exports and `import()` with a
 * string literal).
 * @param {string} file
 * @param {string} text
 * @returns {ImportEdge[]}
 */
export function importsOfText(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  /** @type {ImportEdge[]} */
  const edges = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      if (statement.importClause?.isTypeOnly) continue;
      edges.push({ specifier: statement.moduleSpecifier.text, dynamic: false });
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      if (statement.isTypeOnly) continue;
      edges.push({ specifier: statement.moduleSpecifier.text, dynamic: false });
    }
  }
  if (text.includes('import(')) {
    /** @param {ts.Node} node */
    const visit = (node) => {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const [argument] = node.arguments;
        if (argument && ts.isStringLiteralLike(argument)) edges.push({ specifier: argument.text, dynamic: true });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return edges;
}

/**
 * The imports of a file on disk, parsed once per lint run (re-parsed when it changed).
 * @param {string} file
 */
function entryOf(file) {
  const now = Date.now();
  const cached = parsed.get(file);
  if (cached && now - cached.checkedAt < RECHECK_MS) return cached;
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    const missing = { mtimeMs: -1, checkedAt: now, edges: [] };
    parsed.set(file, missing);
    return missing;
  }
  if (cached && cached.mtimeMs === mtimeMs) {
    cached.checkedAt = now;
    // Resolved again: a file it imports may have appeared or gone meanwhile.
    delete cached.targets;
    return cached;
  }
  const entry = { mtimeMs, checkedAt: now, edges: importsOfText(file, readFileSync(file, 'utf8')) };
  parsed.set(file, entry);
  return entry;
}

/**
 * The repository files a file on disk imports at run time (resolved once per lint run).
 * @param {string} root
 * @param {string} file
 * @returns {string[]}
 */
function targetsOf(root, file) {
  const entry = entryOf(file);
  if (!entry.targets) {
    entry.targets = [];
    for (const edge of entry.edges) {
      const target = resolveImport(root, file, edge.specifier);
      if (target !== undefined && !target.includes(`${sep}node_modules${sep}`)) entry.targets.push(target);
    }
  }
  return entry.targets;
}

/** @type {Map<string, Workspaces>} */
const workspacesByRoot = new Map();

/**
 * @typedef {{ name: string, dir: string, exports: Map<string, string> }} Workspace
 * @typedef {{ byName: Map<string, Workspace>, dirs: string[] }} Workspaces
 */

/**
 * The npm workspaces of the repository at `root` (its package.json `workspaces`: `dir/*`
 * globs and plain folders), with their export maps.
 * @param {string} root
 * @returns {Workspaces}
 */
export function workspacesOf(root) {
  const known = workspacesByRoot.get(root);
  if (known) return known;
  /** @type {Workspaces} */
  const result = { byName: new Map(), dirs: [] };
  /** @type {string[]} */
  let patterns = [];
  try {
    patterns = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces ?? [];
  } catch {
    // not a workspace root: no workspaces
  }
  const dirs = patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [join(root, pattern)];
    const parent = join(root, pattern.slice(0, -2));
    return existsSync(parent) ? readdirSync(parent).map((name) => join(parent, name)) : [];
  });
  for (const dir of dirs) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    /** @type {Map<string, string>} */
    const exports = new Map();
    const entries = typeof pkg.exports === 'string' ? { '.': pkg.exports } : (pkg.exports ?? {});
    for (const [subpath, target] of Object.entries(entries)) {
      const file = typeof target === 'string' ? target : (target?.import ?? target?.default);
      if (typeof file === 'string') exports.set(subpath, resolve(dir, file));
    }
    result.byName.set(pkg.name, { name: pkg.name, dir, exports });
    result.dirs.push(dir);
  }
  workspacesByRoot.set(root, result);
  return result;
}

/**
 * The file an import names, when it is one of the repository's own modules: a relative path
 * or a workspace's entry point (`@elephant/kafka`, `@elephant/testing/global-setup`).
 * Anything else (npm packages, node: builtins) is outside the graph.
 * @param {string} root
 * @param {string} from
 * @param {string} specifier
 * @returns {string | undefined}
 */
export function resolveImport(root, from, specifier) {
  if (specifier.startsWith('.')) {
    const base = resolve(dirname(from), specifier);
    const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
    return candidates.find((candidate) => /\.[cm]?[jt]s$/.test(candidate) && existsSync(candidate));
  }
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const workspace = name === undefined ? undefined : workspacesOf(root).byName.get(name);
  if (!workspace) return undefined;
  const subpath = `.${specifier.slice(name?.length ?? 0)}`;
  return workspace.exports.get(subpath === '.' ? '.' : subpath);
}

/**
 * The workspace folder that owns `file` (the longest workspace folder containing it), or
 * `root` for files outside every workspace (test/, schemas/).
 * @param {string} root
 * @param {string} file
 * @returns {string}
 */
export function ownerOf(root, file) {
  let best = root;
  for (const dir of workspacesOf(root).dirs) {
    if ((file === dir || file.startsWith(dir + sep)) && dir.length > best.length) best = dir;
  }
  return best;
}

/**
 * A chain of runtime imports from `start` back to `target`, or undefined when there is
 * none: [start, ..., target].
 * @param {string} root
 * @param {string} start
 * @param {string} target
 * @returns {string[] | undefined}
 */
export function pathBetween(root, start, target) {
  /** @type {Map<string, string | undefined>} */
  const parent = new Map([[start, undefined]]);
  const queue = [start];
  for (let index = 0; index < queue.length; index += 1) {
    const node = /** @type {string} */ (queue[index]);
    if (node === target) {
      /** @type {string[]} */
      const chain = [];
      for (let at = /** @type {string | undefined} */ (node); at !== undefined; at = parent.get(at)) chain.unshift(at);
      return chain;
    }
    for (const next of targetsOf(root, node)) {
      if (parent.has(next)) continue;
      parent.set(next, node);
      queue.push(next);
    }
  }
  return undefined;
}
