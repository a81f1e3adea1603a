import type pg from 'pg';
import type { Logger } from 'pino';
import { retryUntilDone } from '../retry.js';
import { recordAttempts, type AttemptRecord } from './delivery-store.js';

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
      await retryUntilDone(() => recordAttempts(this.db, batch.map((w) => w.record)), (err, _attempt, delay) => {
        this.log.warn({ err: err.message, attempts: batch.length, retryInMs: delay }, 'recording webhook attempts failed; retrying');
      });
      for (const w of batch) w.done();
    }
    this.writing = null;
  }
}
