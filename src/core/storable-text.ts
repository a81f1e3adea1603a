/**
 * Text PostgreSQL cannot store: a NUL (refused by `text` and `jsonb`) or half of a UTF-16
 * surrogate pair (not a character, so not UTF-8). Refused at every door where text comes in
 * (reports, API bodies) and replaced where fencewire must keep what others sent (webhook
 * answers, error texts), since one such string once failed a whole batch's insert.
 */
// eslint-disable-next-line no-control-regex -- the NUL is what this looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex -- as above
const UNSTORABLE_ALL = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Why a string cannot be stored, or null when it can. */
export function unstorableText(text: string): string | null {
  const match = UNSTORABLE.exec(text);
  if (match === null) return null;
  return match[0] === '\u0000' ? 'contains a NUL character (\\u0000)' : 'contains a lone UTF-16 surrogate, which is not a character';
}

/** `text` with every NUL and lone surrogate replaced by U+FFFD, the replacement character. */
export function storableText(text: string): string {
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE_ALL, '\ufffd') : text;
}
