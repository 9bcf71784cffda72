import { createKafka } from '@elephant/kafka';
import { AvroRegistry } from '@elephant/registry';
import { createLogger } from '@elephant/observability';
const logger = createLogger({ name: 'dbg', level: 'error' });
const kafka = createKafka({ brokers: ['127.0.0.1:19092'], clientId: 'dbg', logger });
const registry = new AvroRegistry({ url: 'http://127.0.0.1:18081/apis/ccompat/v7' });
const admin = kafka.admin(); await admin.connect();
const topics = await admin.listTopics();
const prefix = topics.filter(t => t.endsWith('.latency.profiles.updates.v1')).sort().pop().replace('profiles.updates.v1', '');
console.log(prefix);
async function readAll(topic) {
  const ends = await admin.fetchTopicOffsets(topic);
  const out = [];
  const consumer = kafka.consumer({ groupId: `dbg-${Date.now()}-${topic}`, maxWaitTimeInMs: 50 });
  const pos = new Map();
  await consumer.connect(); await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachBatch: async ({ batch }) => { out.push(...batch.messages.map(m => ({ m, p: batch.partition }))); pos.set(batch.partition, Number(batch.lastOffset()) + 1); } });
  while (!ends.every(e => Number(e.high) === 0 || (pos.get(e.partition) ?? 0) >= Number(e.high) - 1)) await new Promise(r => setTimeout(r, 200));
  await consumer.disconnect();
  return out;
}
const pct = (a, p) => { a.sort((x, y) => x - y); return a[Math.min(a.length - 1, Math.floor(a.length * p))]; };
const tp = new Map(), rs = new Map(), up = new Map();
const hop1 = [];
for (const { m } of await readAll(prefix + 'touchpoints.v1')) { const r = await registry.decode(m.value); tp.set(r.eventId, Number(m.timestamp)); hop1.push(Number(m.timestamp) - r.ingestTime); }
for (const { m } of await readAll(prefix + 'touchpoints.resolved.v1')) { const r = await registry.decode(m.value); if (!rs.has(r.touchpoint.eventId)) rs.set(r.touchpoint.eventId, Number(m.timestamp)); }
for (const { m } of await readAll(prefix + 'profiles.updates.v1')) { const r = await registry.decode(m.value); if (r.kind === 'touchpoint') up.set(r.causeEventId, Number(m.timestamp)); }
const hop2 = [], hop3 = [];
for (const [id, t] of tp) { const r = rs.get(id); if (r) hop2.push(r - t); const u = up.get(id); if (u && r) hop3.push(u - r); }
for (const [n, a] of [['raw→touchpoint', hop1], ['touchpoint→resolved', hop2], ['resolved→update', hop3]]) console.log(n, 'n', a.length, 'p50', pct(a, 0.5), 'p90', pct(a, 0.9), 'p99', pct(a, 0.99));
await admin.disconnect();
process.exit(0);
