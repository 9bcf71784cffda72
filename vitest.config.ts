import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure, no I/O, *.test.ts) and `integration` (*.it.test.ts), which
 * talk to a real Kafka broker, Schema Registry and Redis provided by the global setup.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{packages,services,infra,test,bench}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.it.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{packages,services,infra,test,bench}/**/*.it.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['packages/testing/src/global-setup.ts'],
          testTimeout: 120000,
          hookTimeout: 120000,
          // Two cores shared with the broker, the registry and Redis: one file at a time keeps
          // consumer-group session timeouts and metadata propagation out of the picture.
          fileParallelism: false,
        },
      },
    ],
  },
});
