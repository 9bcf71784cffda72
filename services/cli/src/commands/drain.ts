import { consumerGroupLag, consumerGroupsLag } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import type { CliConfig } from '../config.ts';
import { commandKafka, explainConnectionFailure, unreachableService } from '../connect.ts';
import { CliError } from '../errors.ts';
import { progress } from '../progress.ts';
import { consumerGroups } from '../topology.ts';

export interface DrainOptions {
  readonly timeoutMs: number;
}

/**
 * Waits until every Elephant consumer group has consumed everything. Groups are read in
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
  const groups = consumerGroups(config);
  const deadline = Date.now() + options.timeoutMs;
  const bar = progress('drain', undefined);
  let zeros = 0;
  let peak = 0;
  for (;;) {
    let lag: number;
    try {
      lag = await consumerGroupsLag(kafka, groups);
    } catch (error) {
      if (unreachableService(error) === undefined || Date.now() > deadline) throw explainConnectionFailure(error, config);
      await new Promise((resolve) => setTimeout(resolve, 500));
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
