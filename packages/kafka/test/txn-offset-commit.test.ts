/**
 * The bytes of TxnOffsetCommit v3 (KIP-447: the generation and member id that fence a
 * transactional offset commit; a flexible version, KIP-482), which kafkajs does not have.
 */
import { describe, expect, it } from 'vitest';
import { decodeTxnOffsetCommitV3, encodeTxnOffsetCommitV3, withGeneration } from '@elephant/kafka';

describe('TxnOffsetCommit v3', () => {
  it('encodes the transaction, the group, the member\'s generation and the offsets', () => {
    const body = encodeTxnOffsetCommitV3({ transactionalId: 't', groupId: 'g', producerId: '258', producerEpoch: 3, topics: [{ topic: 'x', partitions: [{ partition: 1, offset: '5' }] }] }, { generationId: 7, memberId: 'm' });
    expect([...body]).toEqual([
      0, // request header v2's tagged fields
      2, 0x74, // transactional_id "t"
      2, 0x67, // group_id "g"
      0, 0, 0, 0, 0, 0, 1, 2, // producer_id 258
      0, 3, // producer_epoch
      0, 0, 0, 7, // generation_id
      2, 0x6d, // member_id "m"
      0, // group_instance_id null
      2, // one topic
      2, 0x78, // "x"
      2, // one partition
      0, 0, 0, 1, // partition_index
      0, 0, 0, 0, 0, 0, 0, 5, // committed_offset
      0xff, 0xff, 0xff, 0xff, // committed_leader_epoch -1
      0, // committed_metadata null
      0, // partition tagged fields
      0, // topic tagged fields
      0, // tagged fields
    ]);
  });

  it('decodes each partition\'s error code', () => {
    const payload = Buffer.from([
      0, // response header tagged fields
      0, 0, 0, 0, // throttle_time_ms
      2, // one topic
      2, 0x78, // "x"
      3, // two partitions
      0, 0, 0, 1, 0, 0, 0,
      0, 0, 0, 2, 0, 22, 0, // ILLEGAL_GENERATION
      0,
      0,
    ]);
    expect(decodeTxnOffsetCommitV3(payload).partitions).toEqual([
      { topic: 'x', partition: 1, errorCode: 0 },
      { topic: 'x', partition: 2, errorCode: 22 },
    ]);
  });

  it('carries the generation on the topics kafkajs passes through, unseen by anything that lists or copies their fields', () => {
    const topics = withGeneration([{ topic: 'x', partitions: [] }], { generationId: 1, memberId: 'm' });
    expect(Object.keys(topics)).toEqual(['0']);
    expect(JSON.stringify(topics)).toBe('[{"topic":"x","partitions":[]}]');
  });
});
