import { excerpt } from '../errors.js';

/**
 * Header names an endpoint's custom headers may not set: those fencewire writes on every request
 * (framing and signatures), and those that change how the request is framed, encoded, routed
 * through a proxy or kept on its connection. Node throws on some of them (`Trailer` without
 * chunked encoding), and the rest would let one tenant bend a shared connection.
 */
const RESERVED = /^(content-type|content-length|content-encoding|transfer-encoding|trailer|te|upgrade|host|connection|keep-alive|expect|proxy-.*|x-event-id|x-event-type|x-timestamp|x-signature|x-attempt|webhook-.*)$/i;
/** An HTTP token (RFC 9110). */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, spaces and tabs: no line breaks that could split the request. */
const VALUE = /^[\t\x20-\x7e]*$/;
export const MAX_HEADER_NAME_LENGTH = 256;
export const MAX_HEADER_VALUE_BYTES = 8 * 1024;

/** Null when an endpoint's custom header can be sent, else why not. Checked at save and at every send. */
export function customHeaderError(name: string, value: string): string | null {
  if (name.length > MAX_HEADER_NAME_LENGTH) return `header name "${excerpt(name)}" is longer than ${MAX_HEADER_NAME_LENGTH} characters`;
  if (!NAME.test(name)) return `header name "${excerpt(name)}" is not a valid HTTP header name`;
  if (RESERVED.test(name)) return `header "${name}" is set by fencewire or changes how the request is framed, encoded or proxied, and cannot be set by an endpoint`;
  if (Buffer.byteLength(value, 'utf8') > MAX_HEADER_VALUE_BYTES) return `header "${name}" has a value longer than ${MAX_HEADER_VALUE_BYTES} bytes`;
  if (!VALUE.test(value)) return `header "${name}" has a value with characters HTTP does not allow (line breaks, non-ASCII)`;
  return null;
}

/** Null when every custom header of an endpoint can be sent, else the first reason why not. */
export function customHeadersError(headers: Readonly<Record<string, string>>): string | null {
  for (const [name, value] of Object.entries(headers)) {
    const problem = customHeaderError(name, value);
    if (problem !== null) return problem;
  }
  return null;
}
