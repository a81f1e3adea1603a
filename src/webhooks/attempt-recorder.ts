import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { retryUntilDone } from '../retry.js';
import { storableText } from '../core/storable-text.js';
import { writeApartOnDataError } from '../store/database.js';
import type { AttemptRecord, DeliveryStore } from '../core/delivery.js';
import { CoalescingWriter } from '../coalescing-writer.js';

const WRITTEN = { ok: true, value: undefined } as const;

/**
 * Writes attempt records in batches: the attempts that finish while one write runs go into the
 * next, so that a busy worker commits many attempts per transaction. A failed write is retried
 * until it succeeds: the log must hold every attempt, and a delivery recorded as succeeded is
 * what keeps it from being sent again. A batch PostgreSQL refuses for its data is not retried
 * as it is: its records are written one by one, and one refused alone is written without the
 * texts the receiver sent, so that its delivery's verdict is still recorded.
 */
export class AttemptRecorder {
  private readonly batches = new CoalescingWriter<AttemptRecord, void>(async (records) => {
    await retryUntilDone(() => this.write(records), (err, _attempt, delay) => {
      this.log.warn({ err: err.message, attempts: records.length, retryInMs: delay }, 'recording webhook attempts failed; retrying');
    });
    return records.map(() => WRITTEN);
  });

  constructor(private readonly store: Pick<DeliveryStore, 'recordAttempts'>, private readonly log: Logger, private readonly metrics: Metrics) {}

  /** Resolves once the record is committed. */
  record(record: AttemptRecord): Promise<void> {
    return this.batches.write(record);
  }

  /** Resolves once everything recorded so far is committed. */
  flushed(): Promise<void> {
    return this.batches.flushed();
  }

  private async write(records: readonly AttemptRecord[]): Promise<void> {
    const stored = async (batch: readonly AttemptRecord[]) => {
      await this.store.recordAttempts(batch);
      return [];
    };
    await writeApartOnDataError(records, stored, async (record, err) => {
      const reason = storableText(err.message);
      this.log.error({ deliveryId: record.deliveryId, attempt: record.attempt, reason }, 'PostgreSQL refused an attempt\'s texts; recorded without them');
      this.metrics.unstorable.inc({ kind: 'attempt' });
      return stored([{ ...record, outcome: { ...record.outcome, error: `not stored: PostgreSQL refused the texts of this attempt (${reason})`, responseBody: null } }]);
    });
  }
}
