/**
 * The Docker path of the harness: the same three services as the local stack, started by
 * testcontainers, for machines that have a Docker engine (the local stack needs none).
 */
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { KafkaContainer } from '@testcontainers/kafka';

/**
 * The registry and Redis images are infra/compose.yaml's. Kafka differs: compose runs
 * apache/kafka:4.1.1, but @testcontainers/kafka's KafkaContainer configures the broker
 * through Confluent's image scripts (/etc/confluent/docker), so it needs a cp-kafka image;
 * cp-kafka 8.1 is Confluent Platform's build of Apache Kafka 4.1, the same broker line.
 */
export const IMAGES = {
  kafka: 'confluentinc/cp-kafka:8.1.0',
  registry: 'apicurio/apicurio-registry:3.3.3',
  redis: 'redis:7.4',
} as const;

/** Whether a Docker engine answers /_ping on DOCKER_HOST's or the default unix socket. */
export async function dockerAvailable(dockerHost: string | undefined): Promise<boolean> {
  const socketPath = dockerHost?.startsWith('unix://') ? dockerHost.slice('unix://'.length) : dockerHost ? undefined : '/var/run/docker.sock';
  if (socketPath === undefined) return dockerHost !== undefined; // tcp:// engines: let testcontainers try
  if (!existsSync(socketPath)) return false;
  return new Promise((resolve) => {
    const probe = request({ socketPath, path: '/_ping', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    probe.on('error', () => resolve(false));
    probe.on('timeout', () => {
      probe.destroy();
      resolve(false);
    });
    probe.end();
  });
}

export interface StartedContainers {
  readonly endpoints: { kafkaBrokers: string; schemaRegistryUrl: string; redisUrl: string };
  stop(): Promise<void>;
}

export async function startContainers(): Promise<StartedContainers> {
  const started: StartedTestContainer[] = [];
  try {
    const [kafka, registry, redis] = await Promise.all([
      new KafkaContainer(IMAGES.kafka).withKraft().start(),
      new GenericContainer(IMAGES.registry)
        .withExposedPorts(8080)
        .withEnvironment({
          APICURIO_REST_DELETION_ARTIFACT_ENABLED: 'true',
          APICURIO_REST_DELETION_ARTIFACT_VERSION_ENABLED: 'true',
          APICURIO_REST_DELETION_GROUP_ENABLED: 'true',
        })
        .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
        .start(),
      new GenericContainer(IMAGES.redis).withExposedPorts(6379).withCommand(['redis-server', '--appendonly', 'yes']).withWaitStrategy(Wait.forLogMessage('Ready to accept connections')).start(),
    ]);
    started.push(kafka, registry, redis);
    return {
      endpoints: {
        kafkaBrokers: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`,
        schemaRegistryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
        redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
      },
      stop: async () => {
        await Promise.all(started.map((container) => container.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((container) => container.stop().catch(() => undefined)));
    throw error;
  }
}
