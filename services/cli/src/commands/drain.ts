import { consumerGroupLag, consumerGroupsLag, type Kafka } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import type { CliConfig } from '../config.ts';
import { commandKafka, explainConnectionFailure, kafkaSecurityFailure, unreachableService } from '../connect.ts';
import { CliError } from '../errors.ts';
import { progress } from '../progress.ts';
import { deployedConsumerGroups } from '../topology.ts';

export interface DrainOptions {
  readonly timeoutMs: number;
}

/**
 * Waits until every Elephant consumer group has consumed everything: the normalizers' groups
 * that exist on the cluster (one per channel as infra/k8s deploys them, one for several, or the
 * CLI's own; deployedConsumerGroups), the resolver's and the builder's. Groups are read in
 * pipeline order (normalizers, then the resolver, then the builder): a stage commits only
 * after its outputs are acknowledged, so when an upstream group reads zero lag, whatever it
 * produced is already counted in the downstream group's lag. Two zero readings in a row end it.
 * An unreachable broker is asked again until the timeout, then reported as UNAVAILABLE: the
 * timeout bounds the whole command, connection attempts included.
 */
export async function drain(config: CliConfig, logger: Logger, options: DrainOptions): Promise<void> {
  // kafkajs needs its retries for the first metadata request (it answers "no brokers in the
  // broker pool" until the seed broker's metadata is in); the loop below bounds the rest.
  const kafka = commandKafka(config, logger, { connectionTimeoutMs: Math.min(3000, Math.max(500, options.timeoutMs)) });
  const deadline = Date.now() + options.timeoutMs;
  const groups = await groupsOf(kafka, config, deadline);
  const bar = progress('drain', undefined);
  let zeros = 0;
  let peak = 0;
  for (;;) {
    let lag: number;
    try {
      lag = await consumerGroupsLag(kafka, groups);
    } catch (error) {
      await waitOutUnreachable(error, config, deadline);
      continue;
    }
    peak = Math.max(peak, lag);
    bar.update(peak - lag, peak, lag > 0 ? `${lag} behind` : undefined);
    zeros = lag === 0 ? zeros + 1 : 0;
    if (zeros >= 2) {
      bar.finish('every consumer group is caught up');
      return;
    }
    if (Date.now() > deadline) {
      const behind: string[] = [];
      for (const { group, topics } of groups) {
        const groupLag = await consumerGroupLag(kafka, group, topics);
        if (groupLag > 0) behind.push(`${group}: ${groupLag}`);
      }
      throw new CliError('DRAIN_TIMEOUT', `Still ${lag} messages behind after ${options.timeoutMs / 1000} s (${behind.join(', ')}). Is \`elephant run\` running against the same cluster?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The consumer groups to wait for, from the cluster's list of groups (asked again while the broker is unreachable, until the deadline). */
async function groupsOf(kafka: Kafka, config: CliConfig, deadline: number): Promise<{ group: string; topics: string[] }[]> {
  for (;;) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      try {
        return deployedConsumerGroups(config, (await admin.listGroups()).groups.map((group) => group.groupId));
      } finally {
        await admin.disconnect();
      }
    } catch (error) {
      await waitOutUnreachable(error, config, deadline);
    }
  }
}

/**
 * Half a second, for a broker that cannot be reached yet (until the deadline); anything else,
 * security settings Kafka refused included, is thrown at once, explained.
 */
async function waitOutUnreachable(error: unknown, config: CliConfig, deadline: number): Promise<void> {
  if (kafkaSecurityFailure(error) !== undefined || unreachableService(error) === undefined || Date.now() > deadline) throw explainConnectionFailure(error, config);
  await new Promise((resolve) => setTimeout(resolve, 500));
}
