import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { sessionFetch } from '@elephant/kafka';

interface SentTopic {
  topic: string;
  partitions: { partition: number }[];
}

interface Sent {
  topics: SentTopic[];
  maxWaitTime?: number;
  isolationLevel?: number;
  sessionId: number;
  sessionEpoch: number;
  forgottenTopics: { topic: string; partitions: number[] }[];
}

const partition = (n: number, messages: unknown[] = [], errorCode = 0) => ({ partition: n, errorCode, preferredReadReplica: -1, messages });

function fakeBroker(response: unknown) {
  const sent: Sent[] = [];
  const fetch = sessionFetch(1, 'definition', async function send(request) {
    sent.push(request as Sent);
    return (typeof response === 'function' ? (response as (request: Sent) => unknown)(request as Sent) : response) as never;
  });
  const broker = { lookupRequest: (apiKey: number, definition: unknown) => (request: unknown) => (apiKey === 1 && definition === 'definition' ? request : undefined) };
  return { sent, fetch: (args: Parameters<typeof fetch>[0]) => fetch.call(broker, args) };
}

describe('kafkajs fetch', () => {
  it("keeps each topic's partitions together, in one entry per topic, whatever the shuffle", async () => {
    const { sent, fetch } = fakeBroker({ responses: [] });
    const topics = Array.from({ length: 8 }, (_, t) => ({ topic: `t${t}`, partitions: Array.from({ length: 8 }, (_, p) => ({ partition: p, fetchOffset: '0', maxBytes: 1 })) }));
    for (let round = 0; round < 20; round += 1) await fetch({ topics, maxWaitTime: 100 });
    for (const request of sent) {
      expect(request.topics).toHaveLength(8);
      expect(new Set(request.topics.map(({ topic }) => topic)).size).toBe(8);
      for (const { partitions } of request.topics) expect(partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(request.maxWaitTime).toBe(100);
      expect(request.isolationLevel).toBeUndefined(); // the request's own default
    }
    // Shuffled: over 20 fetches, the topics did not always come in the same order.
    expect(new Set(sent.map((request) => request.topics.map(({ topic }) => topic).join())).size).toBeGreaterThan(1);
  });

  it('drops the partitions of the response without a record or an error', async () => {
    const record = { offset: '5' };
    const { fetch } = fakeBroker({
      sessionId: 0,
      responses: [
        { topicName: 'a', partitions: [partition(0), partition(1, [record]), partition(2, [], 6)] },
        { topicName: 'b', partitions: [partition(0), partition(1)] },
        { topicName: 'c', partitions: [{ ...partition(3), preferredReadReplica: 2 }] },
      ],
    });
    const response = await fetch({ topics: [{ topic: 'a', partitions: [{ partition: 0 }] }] });
    expect(response).toEqual({
      sessionId: 0,
      responses: [
        { topicName: 'a', partitions: [partition(1, [record]), partition(2, [], 6)] },
        { topicName: 'c', partitions: [{ ...partition(3), preferredReadReplica: 2 }] },
      ],
    });
  });

  it('opens a fetch session and then sends only the partitions whose position changed, and forgets those no longer fetched', async () => {
    let sessionId = 7;
    let errorCode = 0;
    const { sent, fetch } = fakeBroker(() => ({ errorCode, sessionId, responses: [] }));
    // As kafkajs' consumer asks: one entry per topic.
    const at = (offsets: Record<string, string>) => {
      const topics = new Map<string, { partition: number; fetchOffset: string; maxBytes: number }[]>();
      for (const [key, fetchOffset] of Object.entries(offsets)) topics.set(key.charAt(0), [...(topics.get(key.charAt(0)) ?? []), { partition: Number(key.charAt(1)), fetchOffset, maxBytes: 10 }]);
      return { topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) };
    };
    const request = (n: number) => ({ id: sent[n]?.sessionId, epoch: sent[n]?.sessionEpoch, topics: sent[n]?.topics.map(({ topic, partitions }) => `${topic}${partitions.map((p) => p.partition).sort().join('')}`).sort(), forgotten: sent[n]?.forgottenTopics });

    await fetch(at({ a0: '0', a1: '0', b0: '0' }));
    expect(request(0)).toEqual({ id: 0, epoch: 0, topics: ['a01', 'b0'], forgotten: [] });
    await fetch(at({ a0: '5', a1: '0', b0: '0' }));
    expect(request(1)).toEqual({ id: 7, epoch: 1, topics: ['a0'], forgotten: [] });
    await fetch(at({ a0: '5', a1: '0', b0: '0' }));
    expect(request(2)).toEqual({ id: 7, epoch: 2, topics: [], forgotten: [] });
    await fetch(at({ a0: '5', b0: '3', c0: '0' }));
    expect(request(3)).toEqual({ id: 7, epoch: 3, topics: ['b0', 'c0'], forgotten: [{ topic: 'a', partitions: [1] }] });

    // The broker lost the session: a full request at once, asking for a new session.
    errorCode = 70;
    sessionId = 0;
    const lost = fetch(at({ a0: '5', b0: '3', c0: '0' }));
    errorCode = 0;
    sessionId = 8;
    await lost;
    expect(request(4)).toEqual({ id: 7, epoch: 4, topics: [], forgotten: [] });
    expect(request(5)).toEqual({ id: 0, epoch: 0, topics: ['a0', 'b0', 'c0'], forgotten: [] });
    await fetch(at({ a0: '6', b0: '3', c0: '0' }));
    expect(request(6)).toEqual({ id: 8, epoch: 1, topics: ['a0'], forgotten: [] });
  });

  it('starts a new session after a failed fetch, and fetches without one when a fetch overlaps another', async () => {
    let fail = false;
    let release: () => void = () => undefined;
    let hold = false;
    const { sent, fetch } = fakeBroker(async () => {
      if (fail) throw new Error('connection closed');
      if (hold) await new Promise<void>((resolve) => (release = resolve));
      return { errorCode: 0, sessionId: 3, responses: [] };
    });
    const args = { topics: [{ topic: 'a', partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 10 }] }] };
    await fetch(args);
    await fetch(args);
    fail = true;
    await expect(fetch(args)).rejects.toThrow('connection closed');
    fail = false;
    await fetch(args);
    expect(sent.map(({ sessionId, sessionEpoch }) => [sessionId, sessionEpoch])).toEqual([[0, 0], [3, 1], [3, 2], [3, 0]]); // the last closes session 3 and opens another
    hold = true;
    const first = fetch(args);
    hold = false;
    await fetch(args);
    release();
    await first;
    expect(sent.slice(4).map(({ sessionId, sessionEpoch, topics }) => [sessionId, sessionEpoch, topics.length])).toEqual([[3, 1, 0], [0, -1, 1]]);
  });

  it('replaces the fetch of the kafkajs version in use', async () => {
    await import('@elephant/kafka');
    const require = createRequire(import.meta.url);
    const Broker = require('kafkajs/src/broker/index.js') as { prototype: { fetch: () => unknown } };
    expect(Broker.prototype.fetch.toString()).toContain('sessions.get(this)');
  });
});
