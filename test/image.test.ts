/**
 * What the service images install. The Dockerfile runs `npm ci --omit=dev`, which leaves out
 * only the packages package-lock.json marks `dev`: those reached from the root through
 * devDependencies alone. Every workspace is linked from the root as a production dependency, so
 * a workspace's own `dependencies` ship in every image. Regression: @elephant/testing listed
 * vitest and testcontainers there, and each image carried 121 MB of node_modules (vitest,
 * testcontainers, dockerode, gRPC) instead of 33.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };

describe('service images', () => {
  it('leave the test tooling out: npm ci --omit=dev installs no vitest, testcontainers or docker client', () => {
    const shipped = ['vitest', 'testcontainers', '@testcontainers/kafka', 'dockerode', 'docker-modem', '@vitest/runner'].filter((name) => {
      const entry = lock.packages[`node_modules/${name}`];
      return entry !== undefined && entry.dev !== true;
    });
    expect(shipped).toEqual([]);
  });
});
