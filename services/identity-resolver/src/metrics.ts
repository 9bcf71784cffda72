import { Counter, type Registry } from '@elephant/observability';

export interface ResolverMetrics {
  readonly resolved: Counter<'outcome'>;
  readonly merges: Counter;
  readonly excluded: Counter<'reason'>;
  readonly quarantined: Counter<'reason'>;
  readonly deadLettered: Counter<'reason'>;
  readonly redisCommands: Counter;
  readonly redisRoundTrips: Counter;
  readonly budgetSpent: Counter;
}

export function createResolverMetrics(registry: Registry): ResolverMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> => new Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
  return {
    resolved: counter('elephant_resolver_touchpoints_total', 'Touchpoints resolved, by outcome (created, matched, merged, weak_match, erased, replay)', ['outcome']),
    merges: counter('elephant_resolver_merges_total', 'Profile merges (absorbed profiles)'),
    excluded: counter('elephant_resolver_excluded_identifiers_total', 'Identifiers left out of resolution, by reason', ['reason']),
    quarantined: counter('elephant_resolver_quarantined_total', 'Identifier values quarantined as super-nodes, by reason', ['reason']),
    deadLettered: counter('elephant_resolver_dead_lettered_total', 'Touchpoints dead-lettered, by error code', ['reason']),
    redisCommands: counter('elephant_resolver_redis_commands_total', 'Resolve script calls (EVALSHA) the resolver sent, one per up to 100 touchpoints of a tenant in a batch; the commands each call runs inside Redis are not counted here (Redis INFO commandstats / total_commands_processed has those)'),
    redisRoundTrips: counter('elephant_resolver_redis_round_trips_total', 'Redis network round trips of resolution (one pipeline per tenant per batch, and one more each time a call spent its time budget)'),
    budgetSpent: counter('elephant_resolver_script_budget_spent_total', 'Resolve script calls that stopped on their time budget (20 ms of Redis time) before their last event; the rest of the batch was sent again'),
  };
}
