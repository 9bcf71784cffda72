/**
 * infra/k8s/elephant.yaml against the services' configuration schemas: every Deployment's
 * environment (ConfigMap plus its own variables) must be accepted by its service, every variable
 * a Deployment sets must be one its service reads and every ConfigMap entry one some service
 * reads (zod drops unknown keys silently, so a typo would otherwise pass), and each channel has
 * its own normalizer Deployment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CHANNELS } from '@elephant/channels';
import type { ConfigWarning, ParseEnvOptions } from '@elephant/config';
import { loadConfig as normalizerConfig, topicsOf as normalizerTopicsOf } from '@elephant/normalizer';
import { loadConfig as resolverConfig } from '@elephant/identity-resolver';
import { loadConfig as builderConfig } from '@elephant/profile-builder';

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: unknown;
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly { configMapRef?: { name: string } }[];
  readonly ports?: readonly { name: string; containerPort: number }[];
  readonly livenessProbe?: { httpGet?: { path: string; port: string } };
  readonly readinessProbe?: { httpGet?: { path: string; port: string } };
  readonly startupProbe?: { httpGet?: { path: string; port: string }; periodSeconds?: number; failureThreshold?: number };
  readonly securityContext?: { runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: readonly string[] } };
}

interface Manifest {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly data?: Record<string, string>;
  readonly spec?: { readonly template: { readonly spec: { readonly terminationGracePeriodSeconds?: number; readonly containers: readonly Container[] } } };
}

const file = join(import.meta.dirname, '../infra/k8s/elephant.yaml');
const manifests = parseAllDocuments(readFileSync(file, 'utf8')).map((document) => {
  expect(document.errors).toEqual([]);
  return document.toJS() as Manifest;
});
const configMaps = new Map(manifests.filter((manifest) => manifest.kind === 'ConfigMap').map((manifest) => [manifest.metadata.name, manifest.data ?? {}]));
const deployments = manifests.filter((manifest) => manifest.kind === 'Deployment');

const LOADERS: Record<string, (env: Record<string, string>, options?: ParseEnvOptions) => object> = {
  normalizer: normalizerConfig,
  'identity-resolver': resolverConfig,
  'profile-builder': builderConfig,
};

/** The container's environment as the pod would see it (a fieldRef stands for some pod field). */
function environmentOf(container: Container): { env: Record<string, string>; own: string[] } {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name ?? '';
    const data = configMaps.get(name);
    expect(data, `ConfigMap ${name}`).toBeDefined();
    Object.assign(env, data);
  }
  const own: string[] = [];
  for (const variable of container.env ?? []) {
    env[variable.name] = variable.value ?? 'elephant-pod-0';
    own.push(variable.name);
  }
  return { env, own };
}

describe('the Kubernetes manifests (infra/k8s/elephant.yaml)', () => {
  it('have one normalizer Deployment per channel, and one resolver and one builder', () => {
    const channels = deployments.flatMap((deployment) => deployment.spec?.template.spec.containers.filter((container) => container.name === 'normalizer').map((container) => container.env?.find((variable) => variable.name === 'NORMALIZER_CHANNELS')?.value) ?? []);
    expect([...channels].sort()).toEqual([...CHANNELS].sort());
    expect(deployments.map((deployment) => deployment.metadata.name)).toEqual(expect.arrayContaining(['identity-resolver', 'profile-builder', ...CHANNELS.map((channel) => `normalizer-${channel}`)]));
  });

  it.each(deployments.map((deployment) => [deployment.metadata.name, deployment] as const))('%s: its environment is accepted by its service, variable by variable', (_name, deployment) => {
    const containers = deployment.spec?.template.spec.containers ?? [];
    expect(containers.length).toBe(1);
    for (const container of containers) {
      const load = LOADERS[container.name];
      expect(load, `a service named ${container.name}`).toBeDefined();
      expect(container.image).toMatch(new RegExp(`^elephant/${container.name}:`));
      const { env, own } = environmentOf(container);
      const config = load?.(env) ?? {};
      for (const name of own) expect(Object.hasOwn(config, name), `${deployment.metadata.name} sets ${name}, which ${container.name} does not read`).toBe(true);
    }
  });

  it('give every Deployment a consumer group of its own that its TOPIC_PREFIX starts (regression: two environments on one cluster joined the same groups)', () => {
    const groups = deployments.flatMap((deployment) =>
      (deployment.spec?.template.spec.containers ?? []).map((container) => {
        const { env } = environmentOf(container);
        const group = container.name === 'normalizer' ? normalizerTopicsOf(normalizerConfig(env)).group : container.name === 'identity-resolver' ? resolverConfig(env).CONSUMER_GROUP : builderConfig(env).CONSUMER_GROUP;
        expect(env['TOPIC_PREFIX'], `${deployment.metadata.name}: a TOPIC_PREFIX`).toBeTruthy();
        expect(group.startsWith(env['TOPIC_PREFIX'] ?? ''), `${deployment.metadata.name}'s group ${group}`).toBe(true);
        return group;
      }),
    );
    expect(groups).toContain('prod.elephant-normalizer-web');
    expect(new Set(groups).size).toBe(groups.length);
  });

  it('set nothing in the shared ConfigMap that no service reads', () => {
    const read = new Set<string>();
    for (const deployment of deployments) {
      for (const container of deployment.spec?.template.spec.containers ?? []) {
        const config = LOADERS[container.name]?.(environmentOf(container).env) ?? {};
        for (const name of Object.keys(config)) read.add(name);
      }
    }
    const shared = [...configMaps.values()].flatMap((data) => Object.keys(data));
    expect(shared.filter((name) => !read.has(name))).toEqual([]);
  });

  it('give no service a variable that looks like a misspelling of one it reads (the shared ConfigMap holds settings each service reads in part: none may warn)', () => {
    const warnings: ConfigWarning[] = [];
    for (const deployment of deployments) {
      for (const container of deployment.spec?.template.spec.containers ?? []) LOADERS[container.name]?.(environmentOf(container).env, { onWarning: (warning) => warnings.push(warning) });
    }
    expect(warnings).toEqual([]);
  });

  it.each(deployments.map((deployment) => [deployment.metadata.name, deployment] as const))('%s: probes on the health port and time for a graceful shutdown', (_name, deployment) => {
    const spec = deployment.spec?.template.spec;
    expect(spec?.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(30);
    for (const container of spec?.containers ?? []) {
      const http = container.ports?.find((port) => port.name === 'http');
      const { env } = environmentOf(container);
      expect(http?.containerPort).toBe(Number(env['HEALTH_PORT'] ?? 8080));
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
      // The health port opens only after start-up, which may wait out a registry or Redis
      // restart (about 30 s): without a startup probe liveness would kill a slow start.
      expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect((container.startupProbe?.periodSeconds ?? 10) * (container.startupProbe?.failureThreshold ?? 3)).toBeGreaterThanOrEqual(120);
      expect(container.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
  });

  it('give every service the topology settings of the shared ConfigMap under the names it reads (regression: the normalizers read TOUCHPOINTS_PARTITIONS and ignored PARTITIONS)', () => {
    const topology = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'TOPIC_PREFIX', 'CREATE_TOPICS', 'PARTITIONS', 'LOG_LEVEL'];
    for (const deployment of deployments) {
      for (const container of deployment.spec?.template.spec.containers ?? []) {
        const { env } = environmentOf(container);
        const config = LOADERS[container.name]?.(env) ?? {};
        for (const name of topology) {
          expect(env[name], `the ConfigMap sets ${name}`).toBeDefined();
          expect(Object.hasOwn(config, name), `${deployment.metadata.name} reads ${name}`).toBe(true);
        }
      }
    }
  });
});
