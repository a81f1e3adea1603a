import { describe, expect, it } from 'vitest';
import { pythonJson } from '../../../src/core/python-json.js';

describe('pythonJson - what json.dumps(separators=(",", ":")) writes back', () => {
  it.each([
    ['Landstraße Süd', '"Landstra\\u00dfe S\\u00fcd"'],
    ['Café 東京', '"Caf\\u00e9 \\u6771\\u4eac"'],
    ['truck 🚚', '"truck \\ud83d\\ude9a"'],
    ['tab\tquote" backslash\\ nul\u0000 del\u007f', '"tab\\tquote\\" backslash\\\\ nul\\u0000 del\\u007f"'],
  ])('escapes %j as ensure_ascii does', (text, expected) => {
    expect(pythonJson(text)).toBe(expected);
  });

  it.each([
    [0.00001, '1e-05'], [1e-7, '1e-07'], [1.5e-7, '1.5e-07'], [0.0001, '0.0001'], [123.456, '123.456'],
    [-37.765, '-37.765'], [1.5e16, '15000000000000000'], [1.25e16 + 0.5, '12500000000000000'], [1.2345678901234568e22, '1.2345678901234568e+22'],
    [2.5e-300, '2.5e-300'], [5, '5'], [-0, '0'], [3 * 1e-5, '3.0000000000000004e-05'],
  ])('writes %s as %s', (n, expected) => {
    expect(pythonJson(n)).toBe(expected);
  });

  it('keeps the order of keys, compact, and parses back to the same value', () => {
    const value = { id: 'evt_1', data: { b: 1, a: [true, null, 'x'], t: 8.25 } };
    expect(pythonJson(value)).toBe('{"id":"evt_1","data":{"b":1,"a":[true,null,"x"],"t":8.25}}');
    expect(JSON.parse(pythonJson(value))).toEqual(value);
  });
});
