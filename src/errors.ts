/**
 * Named error classes with stable snake_case codes. Anything that crosses a boundary (CLI exit,
 * HTTP answer, dead-letter header) is identified by its `code`, never by its message text.
 */
export class FencewireError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FencewireError';
    this.code = code;
  }
}

/** A configuration value that stops start-up; the message names the environment variable. */
export class ConfigError extends FencewireError {
  readonly key: string;

  constructor(key: string, message: string) {
    super('invalid_config', `${key}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

/** A command-line usage mistake. */
export class UsageError extends FencewireError {
  constructor(message: string) {
    super('invalid_usage', message);
    this.name = 'UsageError';
  }
}

/** The first characters of a caller's text, for messages that must not echo all of it. */
export function excerpt(text: string, max = 64): string {
  return text.length <= max ? text : `${text.slice(0, max)}...(${text.length} characters)`;
}

/** Renders any thrown value as one line for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof FencewireError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A commit refused because the partition has a newer owner: this processor lost its lease
 * (paused past it, cut off from NATS) and must drop the partition without committing.
 */
export class FencedError extends FencewireError {
  constructor(partition: number, epoch: number) {
    super('partition_fenced', `partition ${partition} is no longer held at epoch ${epoch}: another processor owns it now`);
    this.name = 'FencedError';
  }
}

/**
 * A write PostgreSQL refused for what it holds, not for the state of the connection (SQLSTATE
 * classes 22, 23 and 54: bad text, a number out of range, a row too large). Retrying it as it is
 * fails forever: the writer splits the work to find the rows at fault and lets the rest through.
 */
export class UnstorableError extends FencewireError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unstorable', message, options);
    this.name = 'UnstorableError';
  }
}
