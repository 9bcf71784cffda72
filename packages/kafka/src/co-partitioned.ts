import './read-committed.ts';
import { AssignerProtocol, type Assigner, type PartitionAssigner } from 'kafkajs';

/**
 * A partition assigner for co-partitioned topics (same key → same partition number): every
 * member gets the same partition numbers of every topic it reads, so one member owns a key
 * across topics. kafkajs' round-robin assigner spreads topic-partitions without regard to
 * their numbers, which would give a profile's touchpoints and its merges to two writers.
 * Partition p goes to member p mod n (members sorted by id).
 */
export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => {
  const assigner: Assigner = {
    name: 'ElephantCoPartitioned',
    version: 0,
    async assign({ members, topics }) {
      const sorted = members.map((member) => member.memberId).sort();
      const assignment = new Map<string, Record<string, number[]>>();
      for (const topic of topics) {
        for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
          const member = sorted[partitionId % sorted.length];
          if (member === undefined) continue;
          const byTopic = assignment.get(member) ?? {};
          (byTopic[topic] ??= []).push(partitionId);
          assignment.set(member, byTopic);
        }
      }
      return sorted.map((memberId) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: assigner.version, assignment: assignment.get(memberId) ?? {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: assigner.name, metadata: AssignerProtocol.MemberMetadata.encode({ version: assigner.version, topics, userData: Buffer.alloc(0) }) };
    },
  };
  return assigner;
};
