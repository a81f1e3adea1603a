import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { IngestBus } from '../bus/ingest-bus.js';
import type { EventSink } from '../core/event.js';
import type { Metrics } from '../metrics.js';
import { GroupCommitter } from '../pipeline/group-commit.js';
import type { PipelineSettings } from '../pipeline/partition-pipeline.js';
import type { RuleSource } from '../core/rule-source.js';
import type { BatchStore, PartitionStore } from '../core/ingest-ports.js';
import type { LeaseTable } from '../bus/leases.js';
import { planLeases, preferredOrder } from '../core/ownership/lease-plan.js';
import { singleFlight } from '../single-flight.js';
import { HeldPartition, within } from './held-partition.js';

export interface IngestSettings extends PipelineSettings {
  /** Unacknowledged messages the processor may hold over its partitions: the back-pressure bound on memory. */
  readonly maxInFlight: number;
  /** JetStream redelivers a message not acknowledged within this many ms. */
  readonly ackWaitMs: number;
  /** A partition lease not renewed for this long expires, and another processor takes it. */
  readonly leaseMs: number;
  /** Fixes of history each device keeps for late fixes. */
  readonly lateFixHistory: number;
  /** Tests only (FENCEWIRE_TEST_HANG_ROUNDS_AFTER): rebalancing rounds after this many hang. */
  readonly testHangRoundsAfter: number | null;
}

export interface IngestDeps {
  readonly bus: IngestBus;
  /** Where the telemetry subjects begin, to read a message's tenant and device from its subject. */
  readonly telemetryPrefix: string;
  readonly batches: BatchStore;
  readonly partitions: PartitionStore;
  readonly rules: RuleSource;
  readonly events: EventSink;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly settings: IngestSettings;
  /** The key commands on telemetry subjects are signed with. */
  readonly commandKey: string;
}

/** How often consumer lag is read and the watchdog runs. */
const PENDING_POLL_MS = 5000;

/** A name for this processor in leases and logs: host, pid and a random part. */
function processorName(): string {
  return `${hostname().replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * Ingest: the processor's share of the telemetry partitions. Leases in NATS KV say who owns
 * which partition; each lease round renews ours, counts the live processors and takes or hands
 * over partitions towards an even share. Taking a partition claims it in the database (a new
 * epoch, which fences the previous owner), republishes what that owner committed but may not
 * have published, loads the partition's checkpoint and replays the stream from it. A lost lease
 * stops the partition at once, uncommitted; a hand-over commits and checkpoints first.
 */
export class IngestProcessor {
  readonly owner = processorName();
  private partitionCount = 1;
  private leases: LeaseTable | null = null;
  private readonly held = new Map<number, HeldPartition>();
  private readonly writer: GroupCommitter;
  private renewTimer: NodeJS.Timeout | null = null;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  /** Rebalancing rounds started, for the test hook that makes them hang. */
  private rounds = 0;
  /** When a rebalancing round last ran to its end (0: none yet). */
  private lastRoundAt = 0;

  constructor(private readonly deps: IngestDeps) {
    this.writer = new GroupCommitter(deps.batches, deps.metrics);
  }

  async start(): Promise<void> {
    const { bus, settings, log } = this.deps;
    this.partitionCount = await bus.partitionCount();
    this.leases = await bus.openLeases(this.owner, settings.leaseMs, this.partitionCount, log);
    log.info({ owner: this.owner, partitions: this.partitionCount, leaseMs: settings.leaseMs }, 'ingest joining');
    const roundMs = Math.max(100, Math.floor(settings.leaseMs / 5));
    // Heartbeat first. Once the watcher has delivered it (and so everything before it), a
    // processor alone takes its partitions at once; one that sees others waits a round, so
    // that processors starting together each take their share instead of one taking all.
    await this.leases.heartbeat();
    const leases = this.leases;
    for (const deadline = Date.now() + roundMs; !leases.view.heard(this.owner) && Date.now() < deadline;) await sleep(10);
    if (leases.view.live(Date.now()) > 1) await sleep(roundMs);
    await this.balance();
    // Renewing and rebalancing are rounds of their own: a slow rebalance (trying free
    // partitions) must never hold up the renewals that keep the leases.
    this.renewTimer = setInterval(() => void this.renew(), roundMs);
    this.timers = [setInterval(() => void this.balance(), roundMs), setInterval(() => void this.pollPending(), PENDING_POLL_MS)];
  }

  /** A renewal round (never two at once): every lease held, all at once. */
  private readonly renew = singleFlight(() => this.renewHeld().catch((err: Error) => this.deps.log.warn({ err: err.message }, 'lease renewal failed; retrying')));

  /** Partitions being handed over are renewed too, until their lease is given up. */
  private async renewHeld(): Promise<void> {
    const leases = this.leases;
    if (leases === null) return;
    const sentAt = Date.now();
    await Promise.all([...this.held.values()].map(async (held) => {
      const revision = await leases.renew(held.partition, held.revision);
      if (revision === null) return this.lose(held, 'its lease was lost');
      held.revision = revision;
      held.validUntil = sentAt + this.deps.settings.leaseMs;
    }));
  }

  /**
   * A rebalancing round (never two at once, and never longer than a lease: a round that hangs
   * is left behind, and the next one starts).
   */
  private readonly balance = singleFlight(async () => {
    const round = this.rebalance().then(() => true, (err: Error) => {
      this.deps.log.warn({ err: err.message }, 'rebalancing failed; retrying');
      return true;
    });
    if (!(await within(round, this.deps.settings.leaseMs))) {
      this.deps.log.warn({ limitMs: this.deps.settings.leaseMs }, 'a rebalancing round did not finish in time; the next one starts');
    }
  });

  /**
   * Takes or hands over partitions towards a fair share, and takes every stranded partition (held
   * by nobody for a lease time) whatever the share. The heartbeat that counts this processor
   * among the live ones is written only when a round has run to its end: a processor whose
   * rounds hang is not counted, so the others take more, instead of leaving partitions waiting
   * for it.
   */
  private async rebalance(): Promise<void> {
    const leases = this.leases;
    if (leases === null || this.stopping) return;
    if (this.rounds++ >= (this.deps.settings.testHangRoundsAfter ?? Number.POSITIVE_INFINITY)) await new Promise(() => undefined);
    const now = Date.now();
    const { view } = leases;
    const plan = planLeases(this.partitionCount, view.live(now), [...this.held.values()].filter((h) => !h.ending).map((h) => h.partition));
    for (const partition of plan.release) void this.handOver(partition);
    const stranded = new Set(view.stranded(now));
    let wanted = plan.want;
    for (const partition of preferredOrder(this.owner, this.partitionCount)) {
      if (this.stopping) break;
      if (this.held.has(partition) || plan.release.includes(partition)) continue;
      if (!stranded.has(partition) && (wanted === 0 || view.holder(partition, now) !== null)) continue;
      const sentAt = Date.now();
      const revision = await leases.acquire(partition);
      if (revision === null) continue;
      if (!stranded.has(partition)) wanted--;
      if (this.stopping) {
        await leases.release(partition, revision);
        break;
      }
      const held = new HeldPartition(partition, revision, sentAt, { ...this.deps, writer: this.writer });
      this.held.set(partition, held);
      void this.take(held);
    }
    this.deps.metrics.partitionsOwned.set(this.held.size);
    await leases.heartbeat();
    this.lastRoundAt = Date.now();
  }

  /**
   * Ready when its rounds run (one finished within two lease times) and every partition it holds
   * is being consumed: then it owns partitions, or it is a standby that would take one at once.
   */
  readiness(): { readonly ready: boolean; readonly state: string } {
    if (this.stopping) return { ready: false, state: 'stopping' };
    if (Date.now() - this.lastRoundAt > 2 * this.deps.settings.leaseMs) return { ready: false, state: 'lease rounds not running' };
    const held = [...this.held.values()].filter((h) => !h.ending);
    if (held.some((h) => h.consumer === null)) return { ready: false, state: 'starting partitions' };
    return { ready: true, state: held.length === 0 ? 'standby' : `owns ${held.length} partition${held.length === 1 ? '' : 's'}` };
  }

  /** Starts a partition just leased; on failure the lease is given back, to be tried again. */
  private async take(held: HeldPartition): Promise<void> {
    try {
      await held.start(this.partitionCount, this.owner, (why) => this.lose(held, why));
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, partition: held.partition }, 'taking a partition failed; giving its lease back');
      await held.stop(false);
      this.forget(held.partition);
      await this.leases?.release(held.partition, held.revision).catch(() => undefined);
    }
  }

  /** A partition no longer held: its series go, so that sums over processors stay true. */
  private forget(partition: number): void {
    this.held.delete(partition);
    const { metrics } = this.deps;
    for (const gauge of [metrics.partitionHeld, metrics.consumerPending, metrics.ingestLag]) gauge.remove({ partition: String(partition) });
  }

  /** The lease or the epoch is gone: stop the partition at once and commit nothing more. */
  private lose(held: HeldPartition, why: string): void {
    if (held.ending) return;
    held.ending = true;
    this.deps.log.warn({ partition: held.partition, why }, 'partition lost; dropping it uncommitted');
    this.forget(held.partition);
    void held.stop(false);
  }

  /** Hands a partition over: commit and checkpoint what is in hand, then give the lease up. */
  private async handOver(partition: number): Promise<boolean> {
    const held = this.held.get(partition);
    if (held === undefined || held.ending) return false;
    held.ending = true;
    // A partition still starting has nothing in hand: its start sees `ending` and stops. A
    // hand-over that cannot finish (the database away) is given up: the next owner replays.
    const finished = held.pipeline === null || (await within(held.stop(true), this.deps.settings.leaseMs * 2));
    if (!finished) held.pipeline?.abandon();
    this.forget(partition);
    // After a renewal (joining one in flight): the revision given up must be the current one.
    await this.renew();
    await this.leases?.release(partition, held.revision).catch(() => undefined);
    this.deps.log.info({ partition, finished }, 'partition handed over');
    return finished;
  }

  /**
   * Consumer lag per partition, and a watchdog on the ownership invariant: a partition held must
   * be consumed. One that is not (HeldPartition.notConsumed) is handed over (the lease given
   * back) and taken afresh, by whoever comes first. Seen twice on a saturated machine: a
   * partition whose consumer held no pull with messages pending.
   */
  private async pollPending(): Promise<void> {
    const now = Date.now();
    for (const held of [...this.held.values()]) {
      if (held.ending) continue;
      const why = await held.notConsumed(now);
      if (why === null || held.ending) continue;
      this.deps.log.warn({ partition: held.partition, why }, 'partition held but not consumed; handing it over to be taken afresh');
      void this.handOver(held.partition);
    }
    let devices = 0;
    for (const held of this.held.values()) devices += held.pipeline?.deviceCount ?? 0;
    this.deps.metrics.devicesKnown.set(devices);
  }

  /**
   * Hands every partition over and leaves. A partition whose batch is still unwritten after
   * `timeoutMs` (the database is down) is dropped unacknowledged: its next owner replays it.
   * Resolves true when everything in hand was committed.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.stopping) return false;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    // Not waiting for a rebalancing round: it gives back what it takes from now on. Renewals go
    // on while the partitions are handed over.
    const handedOver = Promise.all([...this.held.keys()].map((p) => this.handOver(p))).then((all) => all.every(Boolean));
    const committed = await within(handedOver, timeoutMs);
    if (!committed) for (const held of this.held.values()) held.pipeline?.abandon();
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.leases?.leave().catch(() => undefined);
    this.leases?.close();
    return committed;
  }
}
