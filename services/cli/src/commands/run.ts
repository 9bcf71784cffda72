import { CHANNELS } from '@elephant/channels';
import { startResolver } from '@elephant/identity-resolver';
import { startNormalizer } from '@elephant/normalizer';
import { startBuilder } from '@elephant/profile-builder';
import type { Logger } from '@elephant/observability';
import type { CliConfig } from '../config.ts';
import { builderConfig, normalizerConfig, resolverConfig } from '../topology.ts';

/** The parts `elephant run --only` can start: every channel normalizer, the resolver, the builder. */
export const PIPELINE_PARTS = ['normalizers', 'resolver', 'builder'] as const;
export type PipelinePart = (typeof PIPELINE_PARTS)[number];

export interface RunningPipeline {
  readonly services: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts every Elephant service in this process: the normalizer of every channel, the identity
 * resolver and the profile builder. In production each is its own Deployment (the normalizer
 * one per channel, or one for several); here they share a process.
 */
export async function startPipeline(config: CliConfig, logger: Logger, onFatal: (error: Error) => void, parts: readonly PipelinePart[] = PIPELINE_PARTS): Promise<RunningPipeline> {
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const { stop } of stops.reverse()) await stop();
  };
  try {
    if (parts.includes('builder')) {
      const builder = await startBuilder(builderConfig(config), logger.child({ service: 'profile-builder' }), onFatal);
      stops.push({ name: 'profile-builder', stop: () => builder.stop() });
    }
    if (parts.includes('resolver')) {
      const resolver = await startResolver(resolverConfig(config), logger.child({ service: 'identity-resolver' }), onFatal);
      stops.push({ name: 'identity-resolver', stop: () => resolver.stop() });
    }
    if (parts.includes('normalizers')) {
      // Every channel in one normalizer (one consumer group reading the eight raw topics).
      const normalizer = await startNormalizer(normalizerConfig(config), logger.child({ service: 'normalizer' }), onFatal);
      stops.push({ name: `normalizer (${CHANNELS.join(', ')})`, stop: () => normalizer.stop() });
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { services: stops.map(({ name }) => name), stop: stopAll };
}
