/** Header names an endpoint's custom headers may not set: fencewire writes them on every request. */
const RESERVED = /^(content-type|content-length|host|connection|transfer-encoding|x-event-id|x-event-type|x-timestamp|x-signature|x-attempt|webhook-.*)$/i;
/** An HTTP token (RFC 9110). */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, spaces and tabs: no line breaks that could split the request. */
const VALUE = /^[\t\x20-\x7e]*$/;

/** Null when an endpoint's custom header can be sent, else why not. */
export function customHeaderError(name: string, value: string): string | null {
  if (!NAME.test(name)) return `header name "${name}" is not a valid HTTP header name`;
  if (RESERVED.test(name)) return `header "${name}" is set by fencewire on every delivery and cannot be replaced`;
  if (!VALUE.test(value)) return `header "${name}" has a value with characters HTTP does not allow (line breaks, non-ASCII)`;
  return null;
}
