/**
 * The partition of a device, computed as the NATS server's subject mapping
 * `{{partition(P,1,2)}}` computes it for `telemetry.<tenant>.<device>`: FNV-1a (32 bit) over the
 * mapped tokens written one after the other, modulo P. fencewire needs the same number to check
 * that a stored subject's partition token is the server's (not a device's own) and to find the
 * device states of a partition after the partition count changed.
 */
export function partitionOf(tenantId: string, deviceId: string, partitions: number): number {
  if (partitions <= 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(tenantId + deviceId, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
