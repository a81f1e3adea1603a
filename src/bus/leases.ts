import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiCodes } from '@nats-io/jetstream';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { LeaseView, partitionKey, PROCESSOR_PREFIX } from '../core/ownership/lease-view.js';
import { isJetStreamError } from './api-errors.js';
import type { Topology } from './topology.js';

/** Leases and heartbeats are a few hundred bytes each; the bound keeps a runaway writer off the disk. */
const LEASE_BUCKET_MAX_BYTES = 16 * 1024 * 1024;
const WATCH_RETRY_MS = 1000;
const decoder = new TextDecoder();

/**
 * Partition leases and processor heartbeats in a NATS KV bucket whose entries expire after the
 * lease time (the bucket's max age): a lease is a key created only where none is, kept by
 * compare-and-set updates on its revision, and gone by itself when its holder stops renewing.
 * A processor's heartbeat key says it is alive, so that every processor can count the others
 * and take its fair share. One long-lived watcher of the bucket keeps `view` up to date: counting
 * by listing the keys could hang (nats-server before 2.9.15 never ends the listing when the
 * newest key changes during it), counted keys twice, and left a consumer behind per call.
 */
export class LeaseTable {
  private watching: QueuedIterator<KvWatchEntry> | null = null;
  private closed = false;

  private constructor(private readonly kv: KV, readonly owner: string, readonly view: LeaseView, private readonly log: Logger) {}

  static async open(nc: NatsConnection, t: Topology, owner: string, leaseMs: number, partitions: number, log: Logger): Promise<LeaseTable> {
    const kvm = new Kvm(nc);
    let kv: KV;
    try {
      kv = await kvm.create(t.leaseBucket, { history: 1, ttl: leaseMs, max_bytes: LEASE_BUCKET_MAX_BYTES });
    } catch {
      // Made earlier with other settings (another lease time): use it as it is.
      kv = await kvm.open(t.leaseBucket);
    }
    const table = new LeaseTable(kv, owner, new LeaseView(leaseMs, partitions, Date.now()), log);
    void table.watch();
    return table;
  }

  /** Feeds every change of the bucket to the view, watching again if the watch ends. */
  private async watch(): Promise<void> {
    while (!this.closed) {
      try {
        this.watching = await this.kv.watch({ key: '>' });
        for await (const entry of this.watching) {
          this.view.observe(entry.key, entry.operation !== 'PUT', decoder.decode(entry.value), Date.now());
        }
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'watching the leases failed; watching again');
      }
      if (!this.closed) await sleep(WATCH_RETRY_MS);
    }
  }

  /** Stops watching the bucket. */
  close(): void {
    this.closed = true;
    this.watching?.stop();
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
}

/** The server refused a compare-and-set: the key is not at the revision we held. */
function isHeldElsewhere(err: unknown): boolean {
  return isJetStreamError(err, JetStreamApiCodes.StreamWrongLastSequence, JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}
