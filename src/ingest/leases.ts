import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Topology } from '../bus/topology.js';

const PROCESSOR_PREFIX = 'processor.';
/** Leases and heartbeats are a few hundred bytes each; the bound keeps a runaway writer off the disk. */
const LEASE_BUCKET_MAX_BYTES = 16 * 1024 * 1024;

function partitionKey(partition: number): string {
  return `partition.${partition}`;
}

/**
 * Partition leases and processor heartbeats in a NATS KV bucket whose entries expire after the
 * lease time (the bucket's max age): a lease is a key created only where none is, kept by
 * compare-and-set updates on its revision, and gone by itself when its holder stops renewing.
 * A processor's heartbeat key says it is alive, so that every processor can count the others
 * and take its fair share.
 */
export class LeaseTable {
  private constructor(private readonly kv: KV, readonly owner: string) {}

  static async open(nc: NatsConnection, t: Topology, owner: string, leaseMs: number): Promise<LeaseTable> {
    const kvm = new Kvm(nc);
    let kv: KV;
    try {
      kv = await kvm.create(t.leaseBucket, { history: 1, ttl: leaseMs, max_bytes: LEASE_BUCKET_MAX_BYTES });
    } catch {
      // Made earlier with other settings (another lease time): use it as it is.
      kv = await kvm.open(t.leaseBucket);
    }
    return new LeaseTable(kv, owner);
  }

  /** Takes the partition's lease if nobody holds it; the revision to renew it with, or null. */
  async acquire(partition: number): Promise<number | null> {
    try {
      return await this.kv.create(partitionKey(partition), this.owner);
    } catch (err) {
      if (isHeldElsewhere(err)) return null;
      throw err;
    }
  }

  /** Renews a held lease; the new revision, or null when it was lost (expired, taken). */
  async renew(partition: number, revision: number): Promise<number | null> {
    try {
      return await this.kv.update(partitionKey(partition), this.owner, revision);
    } catch (err) {
      if (isHeldElsewhere(err)) return null;
      throw err;
    }
  }

  /** Gives a lease up at once (hand-over), unless it has already passed to someone else. */
  async release(partition: number, revision: number): Promise<void> {
    await this.kv.delete(partitionKey(partition), { previousSeq: revision }).catch((err: unknown) => {
      if (!isHeldElsewhere(err)) throw err;
    });
  }

  async heartbeat(): Promise<void> {
    await this.kv.put(`${PROCESSOR_PREFIX}${this.owner}`, String(Date.now()));
  }

  /** Says this processor is gone, so that the others rebalance without waiting for expiry. */
  async leave(): Promise<void> {
    await this.kv.delete(`${PROCESSOR_PREFIX}${this.owner}`);
  }

  /** Processors whose heartbeat has not expired, this one included. */
  async liveProcessors(): Promise<number> {
    let live = 0;
    for await (const _key of await this.kv.keys(`${PROCESSOR_PREFIX}*`)) live++;
    return live;
  }
}

/** The server refused a compare-and-set: the key is not at the revision we held. */
function isHeldElsewhere(err: unknown): boolean {
  return err instanceof Error && /wrong last sequence/i.test(err.message);
}
