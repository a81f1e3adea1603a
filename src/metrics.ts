import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric fencewire exports, in one registry with one prefix. Units are in the names
 * (`_total`, `_seconds`), as Prometheus recommends.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fencewire_' });
  const registers = [registry];
  return {
    registry,
    fixesReceived: new Counter({ name: 'fencewire_fixes_received_total', help: 'Position reports received, valid or not', registers }),
    fixesRejected: new Counter({
      name: 'fencewire_fixes_rejected_total',
      help: 'Position reports refused and dead-lettered, by rejection code',
      labelNames: ['code'] as const,
      registers,
    }),
    fixesWritten: new Counter({ name: 'fencewire_fixes_written_total', help: 'Fixes committed to the positions table (duplicates excluded)', registers }),
    fixesDuplicate: new Counter({ name: 'fencewire_fixes_duplicate_total', help: 'Fixes already stored (redeliveries), skipped', registers }),
    batchSize: new Histogram({
      name: 'fencewire_batch_size',
      help: 'Fixes per database write',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000],
      registers,
    }),
    writeDuration: new Histogram({
      name: 'fencewire_write_duration_seconds',
      help: 'Time to commit one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    writeFailures: new Counter({ name: 'fencewire_write_failures_total', help: 'Batch writes that failed and were retried', registers }),
    consumerPending: new Gauge({
      name: 'fencewire_consumer_pending',
      help: 'Messages in the telemetry stream not yet delivered to ingest, by partition held',
      labelNames: ['partition'] as const,
      registers,
    }),
    partitionsOwned: new Gauge({ name: 'fencewire_partitions_owned', help: 'Telemetry partitions this processor holds the lease of', registers }),
    partitionHeld: new Gauge({
      name: 'fencewire_partition_held',
      help: 'Telemetry partitions by owner: 1 for each partition this processor holds (summed over processors, 1 each when all are held once)',
      labelNames: ['partition'] as const,
      registers,
    }),
    ingestLag: new Gauge({
      name: 'fencewire_ingest_lag_seconds',
      help: 'Now minus the fix time of the newest fix in the partition\'s last committed batch, at its commit',
      labelNames: ['partition'] as const,
      registers,
    }),
    stageLatency: new Histogram({
      name: 'fencewire_stage_seconds',
      help: 'Where a fix\'s time goes, by stage: consume_wait (stored on TELEMETRY to taken by its pipeline), rules (decode and rules, per message), commit (a batch cut to committed, group commit included), publish (a committed batch\'s events queued to on EVENTS)',
      labelNames: ['stage'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    eventLatency: new Histogram({
      name: 'fencewire_event_latency_seconds',
      help: 'From a fix stored on the TELEMETRY stream to the events it caused stored on EVENTS',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    outboxBacklog: new Gauge({ name: 'fencewire_outbox_backlog', help: 'Events committed but not yet published to EVENTS, in the partitions this processor holds', registers }),
    eventsDerived: new Counter({ name: 'fencewire_events_derived_total', help: 'Events derived from fixes and sweeps, by type', labelNames: ['type'] as const, registers }),
    eventsPublished: new Counter({ name: 'fencewire_events_published_total', help: 'Events published to the EVENTS stream', registers }),
    lateFixes: new Counter({
      name: 'fencewire_late_fixes_total',
      help: 'Fixes older than their device\'s newest, by outcome: corrected (run in their place, the events after them derived again), too_late (past the tenant\'s lateFixWindowS or the device\'s history: stored, no state change), duplicate (as old as one processed: stored once)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    lateFixReplayed: new Histogram({
      name: 'fencewire_late_fix_replayed_fixes',
      help: 'Fixes a late fix\'s correction ran through the rules again, itself included: its cost',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers,
    }),
    ruleFailures: new Counter({ name: 'fencewire_rule_failures_total', help: 'Rules that threw on a fix (the other rules still ran)', labelNames: ['rule'] as const, registers }),
    unstorable: new Counter({
      name: 'fencewire_unstorable_total',
      help: 'Rows PostgreSQL refused for their data and set aside so the rest went through (fix: dead-lettered; event, attempt: logged), and dead letters dropped after their tries, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    eventsRefused: new Counter({
      name: 'fencewire_events_refused_total',
      help: 'Messages on the events stream the webhook worker refused (not an envelope, or one whose tenant, type or id differs from its subject and Nats-Msg-Id), dead-lettered, by code',
      labelNames: ['code'] as const,
      registers,
    }),
    devicesKnown: new Gauge({ name: 'fencewire_devices_known', help: 'Devices whose rule state the processor holds', registers }),
    inFlight: new Gauge({ name: 'fencewire_in_flight_messages', help: 'Messages received but not yet acknowledged', registers }),
    unhandledErrors: new Counter({
      name: 'fencewire_unhandled_errors_total',
      help: 'Errors no code path handled (a bug), logged and counted instead of stopping the process, by source',
      labelNames: ['source'] as const,
      registers,
    }),
    webhookAttempts: new Counter({ name: 'fencewire_webhook_attempts_total', help: 'Webhook delivery attempts, by endpoint', labelNames: ['endpoint'] as const, registers }),
    webhookAttemptFailures: new Counter({
      name: 'fencewire_webhook_attempt_failures_total',
      help: 'Webhook attempts without a 2xx answer in time, by endpoint',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    webhookDeliveriesFailed: new Counter({
      name: 'fencewire_webhook_deliveries_failed_total',
      help: 'Webhook deliveries given up after the last attempt, by endpoint',
      labelNames: ['endpoint'] as const,
      registers,
    }),
    webhookLatency: new Histogram({
      name: 'fencewire_webhook_latency_seconds',
      help: 'Time from sending a webhook request to its answer (or failure), by endpoint',
      labelNames: ['endpoint'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    timescaleJobOk: new Gauge({
      name: 'fencewire_timescaledb_job_ok',
      help: 'TimescaleDB jobs on positions (policy_retention, policy_compression): 0 when the last run failed, 1 otherwise (timescaledb_information.job_stats)',
      labelNames: ['job'] as const,
      aggregator: 'min',
      registers,
    }),
    timescaleJobFailures: new Gauge({
      name: 'fencewire_timescaledb_job_failures',
      help: 'Failed runs of each TimescaleDB job on positions since it was created',
      labelNames: ['job'] as const,
      aggregator: 'max',
      registers,
    }),
    webhookQueueAge: new Gauge({
      name: 'fencewire_webhook_queue_age_seconds',
      help: 'Age of the oldest pending webhook delivery, by endpoint (0 when none is pending); read from the table, so every webhook worker reports the same value',
      labelNames: ['endpoint'] as const,
      aggregator: 'max',
      registers,
    }),
    streamClients: new Gauge({ name: 'fencewire_stream_clients', help: 'Clients connected to GET /v1/stream', registers }),
    streamClientsDropped: new Counter({
      name: 'fencewire_stream_clients_dropped_total',
      help: 'Stream clients disconnected for leaving more than the buffer limit unread',
      registers,
    }),
    webhookQueueDepth: new Gauge({
      name: 'fencewire_webhook_queue_depth',
      help: 'Webhook deliveries the worker holds for an endpoint, waiting or in progress',
      labelNames: ['endpoint'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
