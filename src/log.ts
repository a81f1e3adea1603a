import { pino, type Logger } from 'pino';

/** The process logger: JSON lines on stdout, one per event of note, never one per fix at info. */
export function createLogger(level: string, name = 'fencewire'): Logger {
  return pino({ name, level });
}
