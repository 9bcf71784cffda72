import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_SASL_USER, LOCAL_TLS_DIR, REPO_ROOT, stackUrls, type StackConfig, type StackUrls } from './config.ts';
import { StackError } from './errors.ts';
import { isOurProcess, isPortFree, startDetached, stopProcess, waitFor } from './processes.ts';
import { kafkaReady, redisReady, registryReady } from './readiness.ts';
import { findJdks, pickJdk, requireMaven, requireRedisServer, run, type Jdk } from './tools.ts';

export const COMPONENTS = ['redis', 'kafka', 'registry'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

interface ComponentState {
  readonly pid: number;
  readonly port: number;
  readonly startedAt: string;
  readonly detail: string;
}

interface StackState {
  readonly components: Partial<Record<ComponentName, ComponentState>>;
}

export interface ComponentStatus {
  readonly name: ComponentName;
  readonly running: boolean;
  readonly ready: boolean;
  readonly pid?: number;
  readonly port: number;
  readonly detail?: string;
  readonly log: string;
}

export interface UpResult {
  readonly urls: StackUrls;
  /** Components this call started (the others were already running). */
  readonly started: readonly ComponentName[];
  readonly readyMs: Partial<Record<ComponentName, number>>;
  readonly totalMs: number;
}

export type Reporter = (line: string) => void;

/** Default registry when Java 21+ is available; 3.0.x is the newest line that runs on Java 17. */
/** The SASL mechanisms of the broker's SASL_SSL listener: every one KAFKA_SASL_MECHANISM names. */
const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
const SASL_MECHANISMS = ['PLAIN', ...SCRAM_MECHANISMS].join(',');
const SECURE_LISTENER_CLIENT_AUTH = ['listener.name.sasl_ssl.ssl.client.auth=requested', 'listener.name.sasl_ssl.ssl.truststore.type=PEM', `listener.name.sasl_ssl.ssl.truststore.location=${join(LOCAL_TLS_DIR, 'client-ca.pem')}`];
const REGISTRY_DEFAULT = '3.3.3';
const REGISTRY_JAVA17 = '3.0.9';

/**
 * The local stack: Apache Kafka (KRaft, one combined broker/controller), Apicurio Registry
 * (Confluent-compatible API) and redis-server, as plain processes under ELEPHANT_STACK_DIR.
 */
export class LocalStack {
  readonly #config: StackConfig;
  readonly #report: Reporter;
  readonly #dir: string;
  readonly #cacheDir: string;

  constructor(config: StackConfig, report: Reporter = () => undefined) {
    this.#config = config;
    this.#report = report;
    this.#dir = config.ELEPHANT_STACK_DIR;
    this.#cacheDir = config.ELEPHANT_STACK_CACHE_DIR ?? config.ELEPHANT_STACK_DIR;
  }

  /** Maven outputs: shared between stacks when ELEPHANT_STACK_CACHE_DIR says so. */
  #cache(...parts: string[]): string {
    return join(this.#cacheDir, ...parts);
  }

  get urls(): StackUrls {
    return stackUrls(this.#config);
  }

  #path(...parts: string[]): string {
    return join(this.#dir, ...parts);
  }

  #port(name: ComponentName): number {
    if (name === 'redis') return this.#config.ELEPHANT_REDIS_PORT;
    if (name === 'kafka') return this.#config.ELEPHANT_KAFKA_PORT;
    return this.#config.ELEPHANT_REGISTRY_PORT;
  }

  #portVariable(name: ComponentName): string {
    return { redis: 'ELEPHANT_REDIS_PORT', kafka: 'ELEPHANT_KAFKA_PORT', registry: 'ELEPHANT_REGISTRY_PORT' }[name];
  }

  #readState(): StackState {
    try {
      return JSON.parse(readFileSync(this.#path('state.json'), 'utf8')) as StackState;
    } catch {
      return { components: {} };
    }
  }

  #writeState(state: StackState): void {
    writeFileSync(this.#path('state.json'), `${JSON.stringify(state, null, 2)}\n`);
  }

  /** Our processes run with their working directory inside the stack directory; that is how we know them. */
  get #marker(): string {
    return this.#dir;
  }

  async #isReady(name: ComponentName, port = this.#port(name)): Promise<boolean> {
    if (name === 'redis') return redisReady(port);
    if (name === 'kafka') return kafkaReady(port);
    return registryReady(port);
  }

  /** Brings every component up; components already running and ready are left alone. */
  async up(): Promise<UpResult> {
    const begin = Date.now();
    for (const sub of ['logs', 'data']) mkdirSync(this.#path(sub), { recursive: true });
    for (const sub of ['downloads', 'dist']) mkdirSync(this.#cache(sub), { recursive: true });
    const state = this.#readState();
    const components = { ...state.components };
    const toStart: ComponentName[] = [];
    for (const name of COMPONENTS) {
      const current = components[name];
      if (current && isOurProcess(current.pid, this.#marker)) {
        if (current.port !== this.#port(name)) {
          throw new StackError('STACK_PORT_IN_USE', `${name} is already running on port ${current.port}, not ${this.#port(name)} (${this.#portVariable(name)}). Run \`npm run stack down\` first to change ports.`);
        }
        if (name === 'kafka') this.#checkSecureListener();
        // A redis-server started before the stack served TLS (2026-12-07), or on another TLS port.
        if (name === 'redis' && !current.detail.includes(`TLS on ${this.#config.ELEPHANT_REDIS_TLS_PORT}`)) {
          throw new StackError('STACK_START_FAILED', `The running redis-server does not serve TLS on port ${this.#config.ELEPHANT_REDIS_TLS_PORT} (ELEPHANT_REDIS_TLS_PORT): it was started by an older version of the stack, or with another port. Run \`npm run stack down\`, then up again.`);
        }
        continue;
      }
      delete components[name];
      if (!(await isPortFree(this.#port(name)))) {
        throw new StackError('STACK_PORT_IN_USE', `Port ${this.#port(name)} for ${name} is taken by another process. Stop it, or pick a free port with ${this.#portVariable(name)}=<port>.`, { details: { port: this.#port(name) } });
      }
      toStart.push(name);
    }
    const extraPorts = [
      ['kafka', this.#config.ELEPHANT_KAFKA_CONTROLLER_PORT, 'the Kafka controller', 'ELEPHANT_KAFKA_CONTROLLER_PORT'],
      ['kafka', this.#config.ELEPHANT_KAFKA_SECURE_PORT, "the Kafka SASL_SSL listener", 'ELEPHANT_KAFKA_SECURE_PORT'],
      ['redis', this.#config.ELEPHANT_REDIS_TLS_PORT, "redis-server's TLS port", 'ELEPHANT_REDIS_TLS_PORT'],
      ['registry', this.#config.ELEPHANT_REGISTRY_MANAGEMENT_PORT, "the registry's management interface", 'ELEPHANT_REGISTRY_MANAGEMENT_PORT'],
    ] as const;
    for (const [name, extraPort, what, variable] of extraPorts) {
      if (toStart.includes(name) && !(await isPortFree(extraPort))) {
        throw new StackError('STACK_PORT_IN_USE', `Port ${extraPort} for ${what} is taken by another process. Stop it, or pick a free port with ${variable}=<port>.`);
      }
    }

    if (toStart.length > 0) {
      const preparers = await this.#prepare(toStart);
      const startedAt = new Date().toISOString();
      // Each component starts as soon as its own preparation is done (Redis at once, Kafka
      // once its storage is formatted, the registry once its distribution is found), so the
      // JVM start-ups overlap instead of queueing behind each other.
      const launched = await Promise.allSettled(
        toStart.map(async (name) => {
          const prepare = preparers[name];
          if (!prepare) return;
          const launch = await prepare();
          const pid = launch();
          components[name] = { pid, port: this.#port(name), startedAt, detail: this.#detail.get(name) ?? '' };
          this.#report(`${name}: started (pid ${pid}, port ${this.#port(name)})`);
        }),
      );
      // Recorded even when one failed, so `down` stops the others.
      this.#writeState({ components });
      const failure = launched.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
    }

    const readyMs: Partial<Record<ComponentName, number>> = {};
    const failures: string[] = [];
    await Promise.all(
      COMPONENTS.map(async (name) => {
        const pid = components[name]?.pid ?? -1;
        const ok = await waitFor(async () => (await this.#isReady(name)) || !isOurProcess(pid, this.#marker), this.#config.ELEPHANT_STACK_TIMEOUT_MS, 200);
        if (ok && (await this.#isReady(name))) {
          try {
            await this.#afterReady.get(name)?.();
          } catch (error) {
            failures.push((error as Error).message);
            return;
          }
          readyMs[name] = Date.now() - begin;
          if (toStart.includes(name)) this.#report(`${name}: ready after ${((Date.now() - begin) / 1000).toFixed(1)} s`);
          return;
        }
        const why = isOurProcess(pid, this.#marker) ? `not ready after ${this.#config.ELEPHANT_STACK_TIMEOUT_MS} ms` : 'exited during start-up';
        failures.push(`${name} ${why}; see ${this.#logFile(name)}\n${logExcerpt(this.#logFile(name), 15)}`);
      }),
    );
    if (failures.length > 0) {
      throw new StackError('STACK_NOT_READY', `The local stack did not come up:\n${failures.join('\n')}`);
    }
    // For `node --env-file=.elephant/stack.env ...` and shells: the services' variables.
    const urls = this.urls;
    writeFileSync(this.#path('stack.env'), `KAFKA_BROKERS=${urls.kafkaBrokers}\nSCHEMA_REGISTRY_URL=${urls.schemaRegistryUrl}\nREDIS_URL=${urls.redisUrl}\n`);
    return { urls, started: toStart, readyMs, totalMs: Date.now() - begin };
  }

  readonly #detail = new Map<ComponentName, string>();
  /** What a component started by this call does once it is ready, before it counts as ready. */
  readonly #afterReady = new Map<ComponentName, () => Promise<void>>();

  #logFile(name: ComponentName): string {
    return name === 'kafka' ? this.#path('logs', 'kafka', 'server.log') : this.#path('logs', `${name}.log`);
  }

  /**
   * Checks the tools `toStart` needs (failing before anything starts), and returns per
   * component the slow part: downloads and configuration, resolving to its launcher.
   */
  async #prepare(toStart: readonly ComponentName[]): Promise<Partial<Record<ComponentName, () => Promise<() => number>>>> {
    const preparers: Partial<Record<ComponentName, () => Promise<() => number>>> = {};
    const needsJava = toStart.includes('kafka') || toStart.includes('registry');
    const jdks = needsJava ? await findJdks([this.#config.ELEPHANT_JAVA_HOME, this.#config.JAVA_HOME], this.#config.PATH) : [];
    if (toStart.includes('redis')) {
      const redisServer = await requireRedisServer(this.#config.PATH, this.#report);
      preparers.redis = async () => () => this.#launchRedis(redisServer);
    }
    if (toStart.includes('kafka')) {
      const jdk = pickJdk(jdks, 17, this.#config.ELEPHANT_JAVA_HOME, 'Apache Kafka 4');
      preparers.kafka = async () => {
        const classpath = await this.#kafkaClasspath();
        await this.#formatKafka(jdk, classpath);
        this.#afterReady.set('kafka', () => this.#ensureScramUser(jdk, classpath));
        return () => this.#launchKafka(jdk, classpath);
      };
    }
    if (toStart.includes('registry')) {
      const newest = Math.max(0, ...jdks.map((jdk) => jdk.major));
      const version = this.#config.ELEPHANT_REGISTRY_VERSION ?? (newest >= 21 ? REGISTRY_DEFAULT : REGISTRY_JAVA17);
      const minJava = version.startsWith('3.0.') ? 17 : 21;
      const jdk = pickJdk(jdks, minJava, this.#config.ELEPHANT_JAVA_HOME, `Apicurio Registry ${version}`);
      this.#detail.set('registry', `Apicurio Registry ${version} on Java ${jdk.major}`);
      preparers.registry = async () => {
        const jar = await this.#registryDistribution(version);
        return () => this.#launchRegistry(jdk, jar);
      };
    }
    return preparers;
  }

  #launchRedis(redisServer: string): number {
    const data = this.#path('data', 'redis');
    mkdirSync(data, { recursive: true });
    this.#detail.set('redis', `redis-server with AOF (appendfsync everysec), TLS on ${this.#config.ELEPHANT_REDIS_TLS_PORT}`);
    const pem = join(LOCAL_TLS_DIR, 'server.pem');
    // The AOF is rewritten once it has grown by 1 GB (Redis' default: 64 MB). A rewrite forks a
    // child that writes the whole dataset, a core busy for a fraction of a second; the local
    // stack shares its cores with the pipeline, and at 1,000 events/s the default rewrote every
    // 15-20 s, each rewrite a stall of the pipeline (docs/benchmarks.md).
    return startDetached(
      redisServer,
      ['--port', String(this.#config.ELEPHANT_REDIS_PORT), '--bind', '127.0.0.1', '--dir', data, '--appendonly', 'yes', '--appendfsync', 'everysec', '--auto-aof-rewrite-min-size', '1gb', '--save', '', '--protected-mode', 'no', '--daemonize', 'no', '--logfile', this.#logFile('redis'),
        // TLS on a port of its own, for tests of rediss:// (the test-only material of infra/local/tls/).
        '--tls-port', String(this.#config.ELEPHANT_REDIS_TLS_PORT), '--tls-cert-file', pem, '--tls-key-file', pem, '--tls-auth-clients', 'no'],
      this.#logFile('redis'),
      data,
    );
  }

  #mavenQueue: Promise<unknown> = Promise.resolve();

  /**
   * Runs Maven after any earlier Maven run of this stack: Kafka's and the registry's
   * preparations overlap, but two Maven processes filling ~/.m2 at once can corrupt it.
   */
  #maven(mvn: string, args: readonly string[]): Promise<string> {
    const result = this.#mavenQueue.then(() => run(mvn, args));
    this.#mavenQueue = result.catch(() => undefined);
    return result;
  }

  async #kafkaClasspath(): Promise<string> {
    const pom = join(REPO_ROOT, 'infra', 'local', 'maven', 'pom.xml');
    const pomHash = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 16);
    const file = this.#cache('downloads', `kafka-classpath-${pomHash}.txt`);
    if (!existsSync(file)) {
      const mvn = requireMaven(this.#config.PATH);
      this.#report('kafka: resolving the Kafka classpath from Maven Central (first run only)');
      try {
        await this.#maven(mvn, ['-q', '-B', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${file}`]);
      } catch (error) {
        throw new StackError('STACK_DOWNLOAD_FAILED', `Maven could not resolve Kafka: ${(error as Error).message}`, { cause: error });
      }
    }
    return readFileSync(file, 'utf8').trim();
  }

  /**
   * The running broker's SASL_SSL listener is the one configured, from the properties it was
   * started with (written at each start): a broker started before the stack had one, or
   * before it offered SCRAM and checked client certificates (all 2026-12-07), or with another
   * ELEPHANT_KAFKA_SECURE_PORT, is refused with what to do.
   */
  #checkSecureListener(): void {
    const secure = this.#config.ELEPHANT_KAFKA_SECURE_PORT;
    let properties = '';
    try {
      properties = readFileSync(this.#path('data', 'kafka.properties'), 'utf8');
    } catch {
      // No properties file: not started by this stack's code; nothing to compare.
      return;
    }
    const started = /^listeners=.*SASL_SSL:\/\/127\.0\.0\.1:(\d+)/m.exec(properties)?.[1];
    if (started === undefined) {
      throw new StackError('STACK_START_FAILED', `The running Kafka has no SASL_SSL listener (ELEPHANT_KAFKA_SECURE_PORT): it was started by an older version of the stack. Run \`npm run stack down\`, then up again.`);
    }
    if (Number(started) !== secure) {
      throw new StackError('STACK_PORT_IN_USE', `kafka is already running with its SASL_SSL listener on port ${started}, not ${secure} (ELEPHANT_KAFKA_SECURE_PORT). Run \`npm run stack down\` first to change ports.`);
    }
    const lines = new Set(properties.split('\n'));
    if (lines.has(`listener.name.sasl_ssl.sasl.enabled.mechanisms=${SASL_MECHANISMS}`) && !existsSync(this.#scramMarker)) {
      throw new StackError('STACK_START_FAILED', `The running Kafka has no SCRAM credentials for its user yet (writing them failed when it started; see the error of that \`up\`). Run \`npm run stack down\`, then up again.`);
    }
    if (!lines.has(`listener.name.sasl_ssl.sasl.enabled.mechanisms=${SASL_MECHANISMS}`) || !SECURE_LISTENER_CLIENT_AUTH.every((line) => lines.has(line))) {
      throw new StackError('STACK_START_FAILED', `The running Kafka's SASL_SSL listener does not offer ${SASL_MECHANISMS} and client certificates: it was started by an older version of the stack. Run \`npm run stack down\`, then up again.`);
    }
  }

  #kafkaProperties(): string {
    const file = this.#path('data', 'kafka.properties');
    const { ELEPHANT_KAFKA_PORT: port, ELEPHANT_KAFKA_CONTROLLER_PORT: controller, ELEPHANT_KAFKA_SECURE_PORT: secure } = this.#config;
    // The SASL_SSL listener: TLS with the test-only material of infra/local/tls/, and one user
    // for each mechanism KAFKA_SASL_MECHANISM names. SASL/PLAIN accepts the JAAS line's
    // user_<name>="<password>" entries; SCRAM-SHA-256 and SCRAM-SHA-512 check credentials kept
    // in the cluster's metadata (written at format, or after start: #ensureScramUser).
    const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${LOCAL_SASL_USER.username}="${LOCAL_SASL_USER.password}";`;
    const scramJaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
    writeFileSync(
      file,
      [
        '# Written by the Elephant local stack on every start.',
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controller}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller},SASL_SSL://127.0.0.1:${secure}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_SSL://127.0.0.1:${secure}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
        `sasl.enabled.mechanisms=${SASL_MECHANISMS}`,
        `listener.name.sasl_ssl.sasl.enabled.mechanisms=${SASL_MECHANISMS}`,
        `listener.name.sasl_ssl.plain.sasl.jaas.config=${jaas}`,
        `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scramJaas}`,
        `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scramJaas}`,
        'listener.name.sasl_ssl.ssl.keystore.type=PEM',
        `listener.name.sasl_ssl.ssl.keystore.location=${join(LOCAL_TLS_DIR, 'server.pem')}`,
        // Mutual TLS: a client certificate is asked for (not required, so that the tests of
        // SASL alone connect without one) and, when sent, checked against the test-only client
        // CA; one it does not sign ends the handshake.
        ...SECURE_LISTENER_CLIENT_AUTH,
        `log.dirs=${this.#path('data', 'kafka')}`,
        'num.partitions=1',
        'auto.create.topics.enable=false',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=8',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        // A test or a single developer is the only member most of the time: no need to wait
        // for more members before the first rebalance.
        'group.initial.rebalance.delay.ms=0',
        // A deleted topic's files go 1 s after the deletion, not 60 s (the default): tests and
        // the benchmark delete hundreds of partitions, and the files of the ones deleted a
        // minute before went while the next measurement ran (docs/benchmarks.md).
        'log.segment.delete.delay.ms=1000',
        'log.retention.hours=168',
        'log.segment.bytes=67108864',
        '',
      ].join('\n'),
    );
    return file;
  }

  /** Formats the KRaft storage once (a new cluster id); later starts reuse it. */
  async #formatKafka(jdk: Jdk, classpath: string): Promise<void> {
    const properties = this.#kafkaProperties();
    if (existsSync(this.#path('data', 'kafka', 'meta.properties'))) return;
    mkdirSync(this.#path('data', 'kafka'), { recursive: true });
    const clusterId = randomBytes(16).toString('base64url');
    try {
      const scram = SCRAM_MECHANISMS.flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${LOCAL_SASL_USER.username},password=${LOCAL_SASL_USER.password}]`]);
      await run(jdk.java, ['-cp', classpath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', properties, '--ignore-formatted', ...scram]);
    } catch (error) {
      throw new StackError('STACK_START_FAILED', `Formatting Kafka storage failed: ${(error as Error).message}`, { cause: error });
    }
    writeFileSync(this.#scramMarker, `${LOCAL_SASL_USER.username}\n`);
  }

  /** Written once the cluster holds the SCRAM credentials of LOCAL_SASL_USER. */
  get #scramMarker(): string {
    return this.#path('data', 'kafka-scram-user');
  }

  /**
   * A cluster formatted before the stack had SCRAM users (2026-12-07) gets its user's
   * credentials once, through the running broker (one request per mechanism: the broker
   * refuses two alterations of one user in a request).
   */
  async #ensureScramUser(jdk: Jdk, classpath: string): Promise<void> {
    if (existsSync(this.#scramMarker)) return;
    try {
      for (const mechanism of SCRAM_MECHANISMS) {
        await run(jdk.java, ['-cp', classpath, 'kafka.admin.ConfigCommand', '--bootstrap-server', `127.0.0.1:${this.#config.ELEPHANT_KAFKA_PORT}`, '--alter', '--entity-type', 'users', '--entity-name', LOCAL_SASL_USER.username, '--add-config', `${mechanism}=[password=${LOCAL_SASL_USER.password}]`]);
      }
    } catch (error) {
      throw new StackError('STACK_START_FAILED', `Could not create the SCRAM credentials of the local stack's Kafka user: ${(error as Error).message}`, { cause: error });
    }
    writeFileSync(this.#scramMarker, `${LOCAL_SASL_USER.username}\n`);
  }

  #launchKafka(jdk: Jdk, classpath: string): number {
    const logs = this.#path('logs', 'kafka');
    mkdirSync(logs, { recursive: true });
    this.#detail.set('kafka', `Apache Kafka (KRaft) on Java ${jdk.major}`);
    const args = [
      `-Xmx${this.#config.ELEPHANT_KAFKA_HEAP}`,
      '-Xms128m',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      `-Dkafka.logs.dir=${logs}`,
      `-Dlog4j2.configurationFile=${join(REPO_ROOT, 'infra', 'local', 'conf', 'log4j2.yaml')}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      this.#path('data', 'kafka.properties'),
    ];
    return startDetached(jdk.java, args, this.#path('logs', 'kafka.out'), this.#dir);
  }

  async #registryDistribution(version: string): Promise<string> {
    const dist = this.#cache('dist', `apicurio-registry-${version}`);
    const existing = findRegistryJar(dist);
    if (existing) return existing;
    const mvn = requireMaven(this.#config.PATH);
    this.#report(`registry: downloading Apicurio Registry ${version} from Maven Central (first run only)`);
    const downloads = this.#cache('downloads');
    try {
      await this.#maven(mvn, ['-q', '-B', '-f', join(REPO_ROOT, 'infra', 'local', 'maven', 'pom.xml'), 'dependency:copy', `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, `-DoutputDirectory=${downloads}`]);
      mkdirSync(dist, { recursive: true });
      await run('tar', ['xzf', join(downloads, `apicurio-registry-app-${version}-all.tar.gz`), '-C', dist]);
    } catch (error) {
      rmSync(dist, { recursive: true, force: true });
      throw new StackError('STACK_DOWNLOAD_FAILED', `Could not get Apicurio Registry ${version} from Maven Central: ${(error as Error).message}`, { cause: error });
    }
    const jar = findRegistryJar(dist);
    if (!jar) throw new StackError('STACK_DOWNLOAD_FAILED', `Apicurio Registry ${version} has no runnable jar in ${dist}`);
    return jar;
  }

  #launchRegistry(jdk: Jdk, jar: string): number {
    const data = this.#path('data', 'registry');
    mkdirSync(data, { recursive: true });
    const args = [
      `-Xmx${this.#config.ELEPHANT_REGISTRY_HEAP}`,
      // A development registry: fast start-up matters more than peak throughput.
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${this.#config.ELEPHANT_REGISTRY_PORT}`,
      '-Dquarkus.http.access-log.enabled=false',
      // Quarkus' management interface (health, metrics) listens on 0.0.0.0:9000 by default;
      // keep it on loopback and on a port of ours, so two stacks never collide.
      '-Dquarkus.management.host=127.0.0.1',
      `-Dquarkus.management.port=${this.#config.ELEPHANT_REGISTRY_MANAGEMENT_PORT}`,
      // Schemas survive restarts, like Confluent's _schemas topic: an H2 file database.
      '-Dapicurio.storage.kind=sql',
      '-Dapicurio.storage.sql.kind=h2',
      `-Dapicurio.datasource.url=jdbc:h2:file:${join(data, 'registry')};DB_CLOSE_ON_EXIT=FALSE`,
      // Tests delete their subjects (DELETE /subjects/{s} and ?permanent=true).
      '-Dapicurio.rest.deletion.artifact.enabled=true',
      '-Dapicurio.rest.deletion.artifact-version.enabled=true',
      '-Dapicurio.rest.deletion.group.enabled=true',
      '-jar',
      jar,
    ];
    return startDetached(jdk.java, args, this.#logFile('registry'), data);
  }

  /** Stops every component (SIGTERM, then SIGKILL after a grace period). Data is kept unless `purge`. */
  async down(options: { purge?: boolean } = {}): Promise<Record<ComponentName, string>> {
    const state = this.#readState();
    const results = {} as Record<ComponentName, string>;
    await Promise.all(
      COMPONENTS.map(async (name) => {
        const current = state.components[name];
        results[name] = current ? await stopProcess(current.pid, this.#marker, 30000) : 'not-running';
        this.#report(`${name}: ${results[name]}`);
      }),
    );
    if (existsSync(this.#dir)) this.#writeState({ components: {} });
    if (options.purge) {
      rmSync(this.#path('data'), { recursive: true, force: true });
      rmSync(this.#path('logs'), { recursive: true, force: true });
      this.#report('data and logs removed');
    }
    return results;
  }

  async status(): Promise<ComponentStatus[]> {
    const state = this.#readState();
    return Promise.all(
      COMPONENTS.map(async (name): Promise<ComponentStatus> => {
        const current = state.components[name];
        if (current === undefined || !isOurProcess(current.pid, this.#marker)) return { name, running: false, ready: false, port: this.#port(name), log: this.#logFile(name) };
        // The port it runs on, which the environment may no longer name (up then refuses to go on).
        const moved = current.port !== this.#port(name) ? `; the environment asks for port ${this.#port(name)} (${this.#portVariable(name)}): \`npm run stack down\`, then up, to move it` : '';
        return { name, running: true, ready: await this.#isReady(name, current.port), port: current.port, log: this.#logFile(name), pid: current.pid, detail: `${current.detail}${moved}` };
      }),
    );
  }
}

function findRegistryJar(dist: string): string | undefined {
  if (!existsSync(dist)) return undefined;
  if (existsSync(join(dist, 'quarkus-run.jar'))) return join(dist, 'quarkus-run.jar');
  const runner = readdirSync(dist).find((file) => file.endsWith('-runner.jar'));
  return runner ? join(dist, runner) : undefined;
}

/**
 * The last `lines` lines of a log, after its first ERROR or FATAL line when that comes before
 * them: a broker that cannot start logs why (a port taken, a bad setting) and then its whole
 * shutdown, and the tail alone showed only the shutdown.
 */
export function logExcerpt(file: string, lines: number): string {
  let all: string[];
  try {
    all = readFileSync(file, 'utf8').trimEnd().split('\n');
  } catch {
    return '    (no log yet)';
  }
  const last = all.slice(-lines);
  const firstError = all.findIndex((line) => / (ERROR|FATAL) /.test(line));
  const shown = firstError !== -1 && firstError < all.length - lines ? [all[firstError] ?? '', '...', ...last] : last;
  return shown.map((line) => `    ${line}`).join('\n');
}
