import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../src/core/partition.js';
import { parseTelemetrySubject } from '../../../src/decode/subject.js';

describe('partitionOf - the NATS server mapping {{partition(P,1,2)}}', () => {
  // What nats-server 2.9.10 stored for telemetry.acme.<device> under
  // "telemetry.*.*": "telemetry.{{wildcard(1)}}.{{wildcard(2)}}.{{partition(8,1,2)}}".
  it.each([['a', 2], ['b', 7], ['c', 4], ['d', 1], ['veh-1', 0], ['veh-2', 1]])('acme.%s is in partition %i of 8', (device, partition) => {
    expect(partitionOf('acme', device, 8)).toBe(partition);
  });

  it('is 0 for one partition, and always below the count', () => {
    expect(partitionOf('acme', 'x', 1)).toBe(0);
    for (let i = 0; i < 200; i++) expect(partitionOf('t', `veh-${i}`, 5)).toBeLessThan(5);
  });
});

describe('parseTelemetrySubject', () => {
  const partitioned = { prefix: 'telemetry.', partitions: 8 };
  it('takes the server-appended partition token when it is the device partition', () => {
    expect(parseTelemetrySubject('telemetry.acme.b.7', partitioned)).toEqual({ tenantId: 'acme', deviceId: 'b' });
  });

  it('refuses a partition token that is not the device partition, naming the right one', () => {
    const out = parseTelemetrySubject('telemetry.acme.b.3', partitioned);
    expect(out).toMatchObject({ code: 'invalid_subject' });
    expect((out as { message: string }).message).toMatch(/server maps this device to partition 7/);
  });

  it('refuses an unmapped subject where the server partitions, and a partition token where it does not', () => {
    expect(parseTelemetrySubject('telemetry.acme.b', partitioned)).toMatchObject({ code: 'invalid_subject' });
    expect(parseTelemetrySubject('telemetry.acme.b.7', { prefix: 'telemetry.', partitions: 1 })).toMatchObject({ code: 'invalid_subject' });
  });
});
