import { Counter, Histogram, type Registry } from '@elephant/observability';

export interface BuilderMetrics {
  readonly touchpoints: Counter<'outcome'>;
  readonly merges: Counter;
  readonly erasures: Counter;
  readonly conflicts: Counter;
  readonly republished: Counter;
  readonly deadLettered: Counter<'reason'>;
  /** Seconds from a touchpoint's ingestTime to the acknowledgement of the update it caused. */
  readonly updateDelay: Histogram;
}

/**
 * Buckets of `elephant_builder_update_delay_seconds`: tens of milliseconds when the pipeline
 * keeps up, up to an hour when it catches up on a backlog or a replay.
 */
export const UPDATE_DELAY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export function createBuilderMetrics(registry: Registry): BuilderMetrics {
  return {
    touchpoints: new Counter({ name: 'elephant_builder_touchpoints_total', help: 'Touchpoints by outcome (applied, duplicate, forwarded, erased)', labelNames: ['outcome'], registers: [registry] }),
    merges: new Counter({ name: 'elephant_builder_merges_total', help: 'Merges folded into survivors', registers: [registry] }),
    erasures: new Counter({ name: 'elephant_builder_erasures_total', help: 'Profiles erased', registers: [registry] }),
    conflicts: new Counter({ name: 'elephant_builder_conflicts_total', help: 'Profile writes refused by the version check (the batch is retried)', registers: [registry] }),
    republished: new Counter({ name: 'elephant_builder_republished_total', help: 'Profile updates published again from the outbox after a transaction that did not commit', registers: [registry] }),
    deadLettered: new Counter({ name: 'elephant_builder_dead_lettered_total', help: 'Records dead-lettered, by error code', labelNames: ['reason'], registers: [registry] }),
    updateDelay: new Histogram({
      name: 'elephant_builder_update_delay_seconds',
      help: "Seconds from a touchpoint's ingestTime (its raw message's Kafka timestamp) until the profile update it caused was acknowledged by the broker (exactly_once: its transaction committed): how far profiles are behind their channels",
      buckets: UPDATE_DELAY_BUCKETS,
      registers: [registry],
    }),
  };
}
