import { LagPoller, type GroupLag, type Kafka } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import { waitUnlessAborted } from '@elephant/runtime';
import type { CliConfig } from '../config.ts';
import { commandKafka, explainConnectionFailure, kafkaSecurityFailure, unreachableService } from '../connect.ts';
import { CliError } from '../errors.ts';
import { progress } from '../progress.ts';
import { deployedConsumerGroups } from '../topology.ts';

export interface DrainOptions {
  readonly timeoutMs: number;
  /** Ends the wait at once, with the signal's reason (the demo's: a service that stopped, which no lag reading would show). */
  readonly signal?: AbortSignal;
}

/**
 * Waits until every Elephant consumer group has consumed everything: the normalizers' groups
 * that exist on the cluster (one per channel as infra/k8s deploys them, one for several, or the
 * CLI's own; deployedConsumerGroups), the resolver's and the builder's. Groups are read in
 * pipeline order (normalizers, then the resolver, then the builder): a stage commits only
 * after its outputs are acknowledged, so when an upstream group reads zero lag, whatever it
 * produced is already counted in the downstream group's lag. Two zero readings in a row end it,
 * or one taken after the deadline.
 * A topic that does not exist yet (the services create theirs at start-up: after `publish`
 * made the raw topics, before `run` started) is not caught up either: waited for, and named
 * with the TOPIC_PREFIX at the timeout. An unreachable broker is asked again until the timeout,
 * then reported as UNAVAILABLE: the timeout bounds the whole command, connection attempts included.
 */
export async function drain(config: CliConfig, logger: Logger, options: DrainOptions): Promise<void> {
  // kafkajs needs its retries for the first metadata request (it answers "no brokers in the
  // broker pool" until the seed broker's metadata is in); the loop below bounds the rest.
  const kafka = commandKafka(config, logger, { connectionTimeoutMs: Math.min(3000, Math.max(500, options.timeoutMs)) });
  const deadline = Date.now() + options.timeoutMs;
  const { signal } = options;
  const groups = await groupsOf(kafka, config, deadline, signal);
  const bar = progress('drain', undefined);
  const poller = new LagPoller(kafka);
  try {
    let zeros = 0;
    let peak = 0;
    for (;;) {
      signal?.throwIfAborted();
      let lags: GroupLag[];
      try {
        lags = await poller.lags(groups);
      } catch (error) {
        await waitOutUnreachable(error, config, deadline, signal);
        continue;
      }
      const lag = lags.reduce((sum, group) => sum + group.lag, 0);
      const missing = [...new Set(lags.flatMap((group) => group.missingTopics))];
      peak = Math.max(peak, lag);
      bar.update(peak - lag, peak, missing.length > 0 ? `waiting for ${missing.length} topic${missing.length === 1 ? '' : 's'} to be created` : lag > 0 ? `${lag} behind` : undefined);
      zeros = lag === 0 && missing.length === 0 ? zeros + 1 : 0;
      // The second zero reading confirms the first; at the deadline one is enough, as no more
      // can be taken (before 2026-12-07 `drain --timeout 0` with nothing behind exited 3).
      const expired = Date.now() > deadline;
      if (zeros >= 2 || (zeros === 1 && expired)) {
        bar.finish('every consumer group is caught up');
        return;
      }
      if (expired) throw drainTimeout(config, options.timeoutMs, lags);
      await pause(500, signal);
    }
  } finally {
    await poller.close();
  }
}

/** DRAIN_TIMEOUT (exit 3), naming the groups still behind and the topics that do not exist. */
function drainTimeout(config: CliConfig, timeoutMs: number, lags: readonly GroupLag[]): CliError {
  const seconds = timeoutMs / 1000;
  const lag = lags.reduce((sum, group) => sum + group.lag, 0);
  const behind = lags.filter((group) => group.lag > 0).map((group) => `${group.group}: ${group.lag}`);
  // Every message says that the wait timed out (before 2026-12-07 one said only "Is `elephant run` running...?").
  const parts: string[] = [`Timed out after ${seconds} s (--timeout).`];
  if (lag > 0) parts.push(`Still ${lag} messages behind (${behind.join(', ')}).`);
  const missing = lags.filter((group) => group.missingTopics.length > 0);
  if (missing.length > 0) {
    const topics = [...new Set(missing.flatMap((group) => group.missingTopics))];
    const readers = missing.map((group) => `${group.group} reads ${group.missingTopics.join(', ')}`);
    parts.push(
      `Topic${topics.length === 1 ? '' : 's'} ${topics.join(', ')} still do${topics.length === 1 ? 'es' : ''} not exist after ${seconds} s (${readers.join('; ')}). The services create their topics when they start: is \`elephant run\` (or the deployment) running against the same cluster, with the same TOPIC_PREFIX (here ${JSON.stringify(config.TOPIC_PREFIX)})?`,
    );
  } else {
    parts.push('Is `elephant run` running against the same cluster?');
  }
  return new CliError('DRAIN_TIMEOUT', parts.join(' '), { details: { lag, behind, missingTopics: [...new Set(lags.flatMap((group) => group.missingTopics))] } });
}

/** The consumer groups to wait for, from the cluster's list of groups (asked again while the broker is unreachable, until the deadline). */
async function groupsOf(kafka: Kafka, config: CliConfig, deadline: number, signal: AbortSignal | undefined): Promise<{ group: string; topics: string[] }[]> {
  for (;;) {
    signal?.throwIfAborted();
    const admin = kafka.admin();
    try {
      await admin.connect();
      try {
        return deployedConsumerGroups(config, (await admin.listGroups()).groups.map((group) => group.groupId));
      } finally {
        await admin.disconnect();
      }
    } catch (error) {
      await waitOutUnreachable(error, config, deadline, signal);
    }
  }
}

/**
 * Half a second, for a broker that cannot be reached yet (until the deadline); anything else,
 * security settings Kafka refused included, is thrown at once, explained.
 */
async function waitOutUnreachable(error: unknown, config: CliConfig, deadline: number, signal: AbortSignal | undefined): Promise<void> {
  if (kafkaSecurityFailure(error) !== undefined || unreachableService(error) === undefined || Date.now() > deadline) throw explainConnectionFailure(error, config);
  await pause(500, signal);
}

/** `ms`, or until `signal` aborts: then its reason is thrown. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await waitUnlessAborted(ms, signal);
  signal?.throwIfAborted();
}
