// Elephant's local ESLint rules (wired in eslint.config.js as the `elephant` plugin):
//  - no-import-cycle: a runtime import that leads back to the importing file, through
//    relative imports and @elephant/* workspace entry points (side-effect imports and
//    re-exports included; `import type` is erased and does not count).
//  - no-relative-cross-package: a relative import that reaches into another workspace
//    (`../../registry/src/wire.ts` from packages/kafka): import its package name instead.
// eslint-plugin-import-x would do the first, but it pulls a native resolver whose
// per-platform packages npm leaves out of the lockfile, which breaks `npm ci`.
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownerOf, pathBetween, resolveImport, workspacesOf } from './import-graph.js';

/** The repository root: this file lives in <root>/lint/. */
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** Both rules take `{ root }`: another workspace root (the rules' own fixtures use one). */
const rootOption = [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }];

/**
 * @param {import('eslint').Rule.RuleContext} context
 * @returns {string}
 */
function rootOf(context) {
  const [options] = /** @type {[{ root?: string }?]} */ (context.options);
  return options?.root ?? ROOT;
}

/**
 * Calls `onImport` for each import-like node of a file (static, side-effect, re-export,
 * `import()` with a literal); type-only ones only when `withTypes`.
 * @param {boolean} withTypes
 * @param {(node: import('estree').Node, specifier: string) => void} onImport
 * @returns {import('eslint').Rule.RuleListener}
 */
function imports(withTypes, onImport) {
  /** @param {import('estree').Node & { source?: import('estree').Node | null, importKind?: string, exportKind?: string }} node */
  const check = (node) => {
    if (!withTypes && (node.importKind === 'type' || node.exportKind === 'type')) return;
    const source = node.source;
    if (source && source.type === 'Literal' && typeof source.value === 'string') onImport(source, source.value);
  };
  return {
    ImportDeclaration: check,
    ExportAllDeclaration: check,
    ExportNamedDeclaration: check,
    ImportExpression: check,
  };
}

/** @type {import('eslint').Rule.RuleModule} */
const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: "Disallow imports that lead back to the importing file (the repository's own modules)." },
    schema: rootOption,
    messages: { cycle: 'Import cycle: {{chain}}.' },
  },
  create(context) {
    const file = context.filename;
    const root = rootOf(context);
    return imports(false, (node, specifier) => {
      const target = resolveImport(root, file, specifier);
      if (target === undefined) return;
      const back = pathBetween(root, target, file);
      if (!back) return;
      const chain = [file, ...back].map((step) => relative(root, step)).join(' -> ');
      context.report({ node, messageId: 'cycle', data: { chain } });
    });
  },
};

/** @type {import('eslint').Rule.RuleModule} */
const noRelativeCrossPackage = {
  meta: {
    type: 'problem',
    docs: { description: "Disallow relative imports into another workspace (its src/ included): use its package name." },
    schema: rootOption,
    messages: { crossPackage: "'{{specifier}}' reaches into {{target}}: import its public entry point{{name}} instead." },
  },
  create(context) {
    const file = context.filename;
    const root = rootOf(context);
    const own = ownerOf(root, file);
    // Type-only imports too: they couple to the other package's internals just the same.
    return imports(true, (node, specifier) => {
      if (!specifier.startsWith('.')) return;
      const target = resolveImport(root, file, specifier);
      if (target === undefined) return;
      const owner = ownerOf(root, target);
      if (owner === own || owner === root) return;
      const workspace = [...workspacesOf(root).byName.values()].find((candidate) => candidate.dir === owner);
      context.report({ node, messageId: 'crossPackage', data: { specifier, target: relative(root, owner), name: workspace ? ` (${workspace.name})` : '' } });
    });
  },
};

export default {
  meta: { name: 'eslint-plugin-elephant' },
  rules: { 'no-import-cycle': noImportCycle, 'no-relative-cross-package': noRelativeCrossPackage },
};
