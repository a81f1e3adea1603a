import { unstorableText } from '../core/storable-text.js';
import { ApiError } from './api-error.js';

/** Nesting a request body may have: GeoJSON needs 7 levels; thousands would only cost stack. */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of JSON text, counted without parsing it; stops counting past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The first string (key or value) in a parsed JSON value that cannot be stored, with where it is. */
export function unstorableString(value: unknown, root = 'body'): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [item, path] = stack.pop() as [unknown, string];
    if (typeof item === 'string') {
      const problem = unstorableText(item);
      if (problem !== null) return `${path} ${problem}`;
    } else if (Array.isArray(item)) {
      item.forEach((child, i) => stack.push([child, `${path}[${i}]`]));
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        const problem = unstorableText(key);
        if (problem !== null) return `a property name in ${path} ${problem}`;
        stack.push([child, `${path}.${key.slice(0, 64)}`]);
      }
    }
  }
  return null;
}

/**
 * Parses a JSON request body with `parse` (fastify's, which refuses `__proto__`), after refusing
 * nesting deeper than MAX_JSON_DEPTH, and then refuses strings PostgreSQL cannot store: each a
 * 400 naming the problem, where the database would otherwise have failed the request with a 500.
 */
export function checkedJsonBody(text: string, parse: (text: string) => unknown): unknown {
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new ApiError('invalid_request', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
  const value = parse(text);
  const problem = unstorableString(value);
  if (problem !== null) throw new ApiError('invalid_request', problem);
  return value;
}
