import { partitionOf } from '../partition.js';

/** Partitions each of `live` processors should hold: an even share, rounded up. */
export function fairShare(partitions: number, live: number): number {
  return Math.ceil(partitions / Math.max(1, live));
}

/**
 * What a processor does at one lease round: how many free partitions to try for, and which of
 * its own to hand over, so that `live` processors end up with shares differing by at most one.
 * Hand-over gives up the highest-numbered first; a processor never gives up its last.
 */
export function planLeases(partitions: number, live: number, owned: readonly number[]): { want: number; release: number[] } {
  const share = fairShare(partitions, live);
  if (owned.length < share) return { want: share - owned.length, release: [] };
  return { want: 0, release: [...owned].sort((a, b) => b - a).slice(0, owned.length - share) };
}

/**
 * The order in which a processor tries free partitions: every partition once, from an offset of
 * its own, so that processors starting together reach for different ones first.
 */
export function preferredOrder(owner: string, partitions: number): number[] {
  const start = partitionOf('lease', owner, partitions);
  return Array.from({ length: partitions }, (_, i) => (start + i) % partitions);
}
