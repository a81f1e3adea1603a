/**
 * Compact JSON that Python's `json.dumps(json.loads(body), separators=(',', ':'))` writes back
 * byte for byte (contract section 3), so that receivers which re-serialise a parsed body before
 * checking its signature (FleetIT's documented check) see the bytes that were signed:
 * - every character outside printable ASCII (DEL and above) as lowercase `\uXXXX`, characters
 *   above U+FFFF as their surrogate pair, as `ensure_ascii` does;
 * - numbers as Python re-prints them: a whole number as an integer, any other in fixed notation
 *   for exponents -4 to 15 and otherwise as `1e-05`, `1.5e+16` (at least two exponent digits);
 * - keys in their order.
 * Still valid UTF-8 JSON that parses to the same values anywhere.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return pythonString(value);
    case 'number':
      return pythonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (Array.isArray(value)) return `[${value.map((item) => pythonJson(item)).join(',')}]`;
      return `{${Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => `${pythonString(key)}:${pythonJson(item)}`)
        .join(',')}}`;
    default:
      throw new TypeError(`cannot write a ${typeof value} as JSON`);
  }
}

const NOT_PRINTABLE_ASCII = /[\u007f-\uffff]/g;

function pythonString(text: string): string {
  // JSON.stringify already writes quotes, backslashes and control characters as Python does
  // (\b \f \n \r \t, the rest as lowercase \u00XX) and lone surrogates as escapes.
  return JSON.stringify(text).replace(NOT_PRINTABLE_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function pythonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`${n} cannot be written as JSON`);
  // Whole numbers print as integers (JavaScript writes 1e+21 and up as Python's float does).
  if (Number.isInteger(n)) return String(n);
  const [digits, exponentText] = n.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) return String(n);
  return `${digits}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}
