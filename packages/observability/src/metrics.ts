import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/**
 * A Prometheus registry for one process, with Node's default metrics and an `elephant_`
 * prefix on the process metrics. Pass it to whatever creates metrics, so tests can use
 * their own registry and never share global state.
 */
export function createMetricsRegistry(labels: Readonly<Record<string, string>> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ ...labels });
  collectDefaultMetrics({ register: registry, prefix: 'elephant_' });
  return registry;
}
