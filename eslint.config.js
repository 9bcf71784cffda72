// One lint setup for the whole monorepo: type-aware rules (floating promises, misused
// promises, no `any`), no deep imports into another package's src/ (by package name or by
// relative path), and no import cycles. The last two are local rules in lint/plugin.js
// (eslint-plugin-import-x pulls a native resolver whose per-platform packages npm 11 leaves
// out of the lockfile, which breaks `npm ci`).
import tseslint from 'typescript-eslint';
import elephant from './lint/plugin.js';

const noDeepImports = [{ group: ['@elephant/*/src', '@elephant/*/src/*', '@elephant/*/src/**'], message: "Import the package's public entry point (@elephant/<name>), not its src/." }];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/dist-test/**', '**/*.d.ts', '.elephant/**', 'bench/reports/**', 'coverage/**', 'lint/fixtures/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    plugins: { elephant },
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Async signatures are part of interfaces (handlers, closers) even when a body is sync.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'elephant/no-import-cycle': 'error',
      // `../../registry/src/wire.ts` from packages/kafka: relative paths into another workspace.
      'elephant/no-relative-cross-package': 'error',
      'no-restricted-imports': ['error', { patterns: noDeepImports }],
    },
  },
  {
    // Pure domain packages stay free of I/O.
    files: ['packages/{channels,identity,profiles}/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // (A later setting of a rule replaces the earlier one: the deep-import patterns again.)
          patterns: noDeepImports,
          paths: ['kafkajs', 'ioredis', '@elephant/kafka', '@elephant/redis', '@elephant/registry', 'node:fs', 'node:net', 'node:http'].map((name) => ({ name, message: 'Domain packages are pure: no I/O imports.' })),
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
