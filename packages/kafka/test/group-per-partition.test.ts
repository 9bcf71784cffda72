import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FastPartitioner, groupMessagesPerPartition, kafkajsGroupMessagesPerPartition } from '@elephant/kafka';

const require = createRequire(import.meta.url);

const metadata = (count: number): { partitionId: number; leader: number; partitionErrorCode: number; replicas: number[]; isr: number[] }[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));

describe('grouping a send\'s messages by partition', () => {
  it('gives kafkajs\' own result: each partition\'s messages in send order, only partitions that got any', () => {
    const partitioner = FastPartitioner();
    for (const [count, partitions] of [[0, 8], [1, 8], [7, 3], [500, 8], [64, 1]] as const) {
      // Keyed, and some with an explicit partition (keyless ones go round-robin from a random start).
      const messages = Array.from({ length: count }, (_, index) => ({ key: `profile-${index % 37}`, value: Buffer.from(String(index)), ...(index % 5 === 0 ? { partition: index % partitions } : {}) }));
      const args = { topic: 'touchpoints', partitionMetadata: metadata(partitions), messages, partitioner };
      const ours = groupMessagesPerPartition(args);
      const theirs = kafkajsGroupMessagesPerPartition(args);
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      for (const partition of Object.keys(theirs)) {
        const mine = ours[Number(partition)] ?? [];
        const kafkajs = theirs[Number(partition)] ?? [];
        expect(mine.map((message) => message.key), `partition ${partition} of ${count} messages`).toEqual(kafkajs.map((message) => message.key));
        expect(mine.every((message, index) => message === kafkajs[index])).toBe(true);
      }
    }
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [{ value: 'x' }], partitioner: () => 0 })).toEqual({});
  });

  it('is what kafkajs\' producer groups with: replaced before the producer loads, in a fresh process', () => {
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(groupMessagesPerPartition);
    const script = "const k = await import('@elephant/kafka'); const { createRequire } = await import('node:module'); const r = createRequire(import.meta.url); console.log(JSON.stringify({ before: k.groupingReplacedBeforeProducer, same: r('kafkajs/src/producer/groupMessagesPerPartition.js') === k.groupMessagesPerPartition }));";
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
    expect(JSON.parse(output.trim().split('\n').at(-1) ?? '{}')).toEqual({ before: true, same: true });
  });
});
