import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pythonJson } from '../../src/core/python-json.js';
import { seededRandom } from '../../src/simulate/random.js';

// Python itself is the oracle: each line parsed and written back as FleetIT's receivers do.
const REDUMP = `
import json, sys
for line in sys.stdin.read().split('\\n'):
    if line:
        print(json.dumps(json.loads(line), separators=(',', ':')))
`;

function redumpedByPython(lines: string[]): string[] {
  const result = spawnSync('python3', ['-c', REDUMP], { input: lines.join('\n'), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return result.stdout.trimEnd().split('\n');
}

describe('envelope JSON - Python re-prints it byte for byte', () => {
  it('names in many scripts and emoji, and numbers of every magnitude and sign', () => {
    const random = seededRandom(7);
    const names = ['Landstraße Süd', 'Café de Flore', '東京駅', 'Zürich HB 🚉', 'truck 🚚 depot', 'Ølstykke', 'Łódź', 'naïve "quoted" \\ back', 'tab\tline\nend', 'del\u007f'];
    const values: unknown[] = names.map((name) => ({ geofence_name: name, id: 'evt_1' }));
    for (let i = 0; i < 2000; i++) {
      const magnitude = 10 ** Math.floor(random() * 40 - 20);
      const n = (random() - 0.5) * magnitude;
      values.push({ lat: -33.8688 - random(), lon: -151.2093 * random(), value: n, rounded: Math.round(n), small: n * 1e-9, big: n * 1e12 });
    }
    const lines = values.map((v) => pythonJson(v));
    expect(redumpedByPython(lines)).toEqual(lines);
    expect(lines.every((line) => /^[\x20-\x7e]*$/.test(line))).toBe(true);
  });
});
