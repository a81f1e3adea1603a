import type pg from 'pg';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordAttempts, type AttemptRecord } from './delivery-store.js';

const RETRY_MS = 1000;

/**
 * Writes attempt records in batches: the attempts that finish while one write runs go into the
 * next, so that a busy worker commits many attempts per transaction. A failed write is retried
 * until it succeeds: the log must hold every attempt, and a delivery recorded as succeeded is
 * what keeps it from being sent again.
 */
export class AttemptRecorder {
  private waiting: { record: AttemptRecord; done: () => void }[] = [];
  private writing: Promise<void> | null = null;

  constructor(private readonly db: pg.Pool, private readonly log: Logger) {}

  /** Resolves once the record is committed. */
  record(record: AttemptRecord): Promise<void> {
    return new Promise((done) => {
      this.waiting.push({ record, done });
      this.writing ??= this.writeAll();
    });
  }

  /** Resolves once everything recorded so far is committed. */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async writeAll(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      for (let attempt = 1; ; attempt++) {
        try {
          await recordAttempts(this.db, batch.map((w) => w.record));
          break;
        } catch (err) {
          this.log.warn({ err: (err as Error).message, attempts: batch.length, retry: attempt }, 'recording webhook attempts failed; retrying');
          await sleep(RETRY_MS);
        }
      }
      for (const w of batch) w.done();
    }
    this.writing = null;
  }
}
