/**
 * Corrects kafkajs 2.2.4's read_committed filtering, before kafkajs loads.
 *
 * A read_committed fetch returns the partition's records up to the last stable offset plus
 * the list of aborted transactions in that range (producer id, first offset). The client must
 * drop every transactional record of a producer from the first offset of one of its aborted
 * transactions up to that transaction's abort marker. kafkajs (src/consumer/filterAbortedMessages.js)
 * takes the list in the broker's order (by abort marker, not by first offset) and activates at
 * most one aborted transaction per record, so records of an aborted transaction that began
 * before the one at the head of the list are handed to the application. Measured on Kafka 4.1
 * with four interleaving transactional producers: 3-10% of aborted records were delivered
 * (packages/kafka/test/read-committed.it.test.ts). For Elephant that means subscribers seeing
 * profile updates of transactions that never committed.
 *
 * This module puts a correct filter in Node's CommonJS cache under kafkajs' own module path,
 * so kafkajs' Batch picks it up when it is first required. Every module of this package that
 * loads kafkajs imports this one first (ESM evaluates imports in order); no other package
 * imports kafkajs at run time (test/architecture.test.ts).
 */
// First of all, before kafkajs' modules load the protocol encoder, the record batch checksum,
// the producer's grouping by partition, the record decoder and encoder (see encoder.ts,
// crc32c.ts, group-per-partition.ts, record-decoder.ts, record-encoder.ts).
import './encoder.ts';
import './crc32c.ts';
import './group-per-partition.ts';
import './send-messages.ts';
import './record-decoder.ts';
import './record-encoder.ts';
import { replaceKafkajsModule } from './internals.ts';

interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

interface FetchedRecord {
  readonly offset: string;
  readonly key?: Buffer | null;
  /** Set on the records of a control batch (transaction markers). */
  readonly isControlRecord?: boolean;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}

/** The control record key of an ABORT marker: version 0 (int16), type 0 (int16). */
const ABORT_KEY = Buffer.from([0, 0, 0, 0]);

/** An ABORT marker: a control record with that key (a data record may have the same four bytes as its key). */
function isAbortMarker(record: FetchedRecord): boolean {
  return record.isControlRecord === true && record.key !== undefined && record.key !== null && Buffer.from(record.key).equals(ABORT_KEY);
}

/**
 * Drops the records of aborted transactions (the Java consumer's algorithm, per record):
 * every aborted transaction whose first offset is at or before the record is active for its
 * producer until that producer's abort marker.
 */
export function filterAbortedRecords<T extends FetchedRecord>({ messages, abortedTransactions }: { messages: readonly T[]; abortedTransactions?: readonly AbortedTransaction[] | null }): T[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return [...messages];
  const pending = [...abortedTransactions].sort((a, b) => compareOffsets(a.firstOffset, b.firstOffset));
  const aborting = new Set<string>();
  let next = 0;
  return messages.filter((record) => {
    const offset = BigInt(record.offset);
    while (next < pending.length && BigInt((pending[next] as AbortedTransaction).firstOffset) <= offset) {
      aborting.add(String((pending[next] as AbortedTransaction).producerId));
      next += 1;
    }
    const producerId = String(record.batchContext.producerId);
    if (isAbortMarker(record)) {
      aborting.delete(producerId);
      return true; // a control record; kafkajs drops those afterwards
    }
    return !(record.batchContext.inTransaction && aborting.has(producerId));
  });
}

function compareOffsets(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

replaceKafkajsModule('consumer/filterAbortedMessages.js', filterAbortedRecords);
