// One lint setup for the whole monorepo: type-aware rules (floating promises, misused
// promises, no `any`) and no deep imports into another package's src/. Import cycles are
// checked by test/architecture.test.ts (eslint-plugin-import-x pulls a native resolver whose
// per-platform packages npm 11 leaves out of the lockfile, which breaks `npm ci`).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/dist-test/**', '**/*.d.ts', '.elephant/**', 'bench/reports/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
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
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@elephant/*/src', '@elephant/*/src/*', '@elephant/*/src/**'], message: "Import the package's public entry point (@elephant/<name>), not its src/." },
            { regex: '^(\\.\\./)+(packages|services|infra)/', message: 'Import another workspace through its package name, not a relative path.' },
          ],
        },
      ],
    },
  },
  {
    // Pure domain packages stay free of I/O.
    files: ['packages/{channels,identity,profiles}/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
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
