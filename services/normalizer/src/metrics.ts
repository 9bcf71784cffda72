import { Counter, type Registry } from '@elephant/observability';

export interface NormalizerMetrics {
  readonly consumed: Counter<'channel'>;
  readonly produced: Counter<'channel'>;
  readonly deadLettered: Counter<'channel' | 'reason'>;
  readonly droppedIdentifiers: Counter<'channel' | 'type' | 'reason'>;
  readonly futureTimes: Counter<'channel'>;
}

/** Batch latency and consumer lag come from the consumer runner's metrics on the same registry. */
export function createNormalizerMetrics(registry: Registry): NormalizerMetrics {
  return {
    consumed: new Counter({ name: 'elephant_normalizer_consumed_total', help: 'Raw messages consumed whose outputs the broker acknowledged (counted before the offset commit: a crash before it counts a redelivered message again)', labelNames: ['channel'], registers: [registry] }),
    produced: new Counter({ name: 'elephant_normalizer_produced_total', help: 'Touchpoints produced', labelNames: ['channel'], registers: [registry] }),
    deadLettered: new Counter({ name: 'elephant_normalizer_dead_lettered_total', help: 'Raw messages dead-lettered, by error code', labelNames: ['channel', 'reason'], registers: [registry] }),
    droppedIdentifiers: new Counter({ name: 'elephant_normalizer_dropped_identifiers_total', help: 'Identifiers dropped by normalization, by identifier type (custom types as custom) and drop reason', labelNames: ['channel', 'type', 'reason'], registers: [registry] }),
    futureTimes: new Counter({
      name: 'elephant_normalizer_future_times_total',
      help: 'Touchpoints normalized that state a time (eventTime, a consent statedAt) after their ingestTime, the raw record\'s timestamp: their source\'s clock runs ahead. Identity resolution and profiles count such times as the ingestTime',
      labelNames: ['channel'],
      registers: [registry],
    }),
  };
}
