/**
 * kafkajs 2.2.4's grouping of a send's messages by partition, in linear time, put in place of
 * its own before kafkajs' producer loads it (read-committed.ts, which every module of this
 * package that loads kafkajs imports first, imports this one).
 *
 * kafkajs builds each partition's list by copying it with one more message for every message
 * (`[...current, message]` in a reduce), so a send of n messages to p partitions copies about
 * n²/2p references. Profiled in the benchmark at full speed, that grouping was 3.5% of the
 * profile builder's busy time (a batch sends an update per touchpoint and a snapshot per
 * profile) and 1.6% of the normalizer's. This one appends. The result has kafkajs' shape:
 * partition → messages in send order, for the partitions that got any.
 * packages/kafka/test/group-per-partition.test.ts checks it against kafkajs' own.
 */
import type { Message, PartitionerArgs } from 'kafkajs';
import { kafkajsModule, kafkajsModuleLoaded, replaceKafkajsModule } from './internals.ts';

interface GroupArgs {
  readonly topic: string;
  readonly partitionMetadata: PartitionerArgs['partitionMetadata'];
  readonly messages: readonly Message[];
  readonly partitioner: (args: PartitionerArgs) => number;
}

type Grouping = (args: GroupArgs) => Record<number, Message[]>;

const MODULE = 'producer/groupMessagesPerPartition.js';

export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: GroupArgs): Record<number, Message[]> {
  const grouped: Record<number, Message[]> = {};
  if (partitionMetadata.length === 0) return grouped;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = grouped[partition];
    if (list) list.push(message);
    else grouped[partition] = [message];
  }
  return grouped;
}

/**
 * Whether kafkajs' producer had not loaded its grouping module yet when this one replaced it:
 * its sendMessages keeps the function it required, so only then does it use this one (the
 * test runs a fresh process and checks this).
 */
export const groupingReplacedBeforeProducer = !kafkajsModuleLoaded('producer/sendMessages.js');

const original = kafkajsModule<Grouping>(MODULE);
if (typeof original !== 'function') throw new Error('kafkajs grouping module not as expected: the grouping patch needs kafkajs 2.2.x');

/** kafkajs' own grouping (for the test). */
export const kafkajsGroupMessagesPerPartition: Grouping = original;

replaceKafkajsModule(MODULE, groupMessagesPerPartition);
