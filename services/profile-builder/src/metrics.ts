import { Counter, type Registry } from '@elephant/observability';

export interface BuilderMetrics {
  readonly touchpoints: Counter<'outcome'>;
  readonly merges: Counter;
  readonly erasures: Counter;
  readonly conflicts: Counter;
  readonly republished: Counter;
  readonly deadLettered: Counter<'reason'>;
}

export function createBuilderMetrics(registry: Registry): BuilderMetrics {
  return {
    touchpoints: new Counter({ name: 'elephant_builder_touchpoints_total', help: 'Touchpoints by outcome (applied, duplicate, forwarded, erased)', labelNames: ['outcome'], registers: [registry] }),
    merges: new Counter({ name: 'elephant_builder_merges_total', help: 'Merges folded into survivors', registers: [registry] }),
    erasures: new Counter({ name: 'elephant_builder_erasures_total', help: 'Profiles erased', registers: [registry] }),
    conflicts: new Counter({ name: 'elephant_builder_conflicts_total', help: 'Profile writes refused by the version check (the batch is retried)', registers: [registry] }),
    republished: new Counter({ name: 'elephant_builder_republished_total', help: 'Profile updates published again from the outbox after a transaction that did not commit', registers: [registry] }),
    deadLettered: new Counter({ name: 'elephant_builder_dead_lettered_total', help: 'Records dead-lettered, by error code', labelNames: ['reason'], registers: [registry] }),
  };
}
