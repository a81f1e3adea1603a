/**
 * Polygons built to be expensive for a naive self-intersection check or index: stars (every
 * spike's edges overlap every other's bounding box near the centre), combs (long parallel
 * teeth) and spirals (long arms wound tightly), each valid, or with one flaw that makes two
 * edges cross. Shared by the geometry tests (checked against PostGIS) and the benchmark.
 */
export type Ring = [number, number][];

export interface AdversarialShape {
  readonly name: string;
  readonly ring: Ring;
  /** False when the flaw was put in: two edges cross. */
  readonly valid: boolean;
}

const CENTRE: [number, number] = [10, 50];
const SCALE = 0.5;

const at = (x: number, y: number): [number, number] => [CENTRE[0] + x * SCALE, CENTRE[1] + y * SCALE];
const closed = (points: Ring): Ring => [...points, points[0] as [number, number]];

/** A star of `vertices / 2` spikes; the flaw swaps two outer points, so two spikes' edges form an X. */
export function star(vertices: number, flawed: boolean): AdversarialShape {
  const spikes = Math.floor(vertices / 2);
  const points: Ring = [];
  for (let i = 0; i < spikes * 2; i++) {
    const angle = (i / (spikes * 2)) * 2 * Math.PI;
    const r = i % 2 === 0 ? 1 : 0.05;
    points.push(at(r * Math.cos(angle), r * Math.sin(angle)));
  }
  if (flawed) {
    const k = spikes - (spikes % 2 === 0 ? 0 : 1);
    [points[k], points[k + 2]] = [points[k + 2] as [number, number], points[k] as [number, number]];
  }
  return { name: `star of ${spikes} spikes${flawed ? ', two crossed' : ''}`, ring: closed(points), valid: !flawed };
}

/** A comb of `vertices / 4` teeth on a bar; the flaw swaps one tooth's top corners. */
export function comb(vertices: number, flawed: boolean): AdversarialShape {
  const teeth = Math.floor((vertices - 2) / 4);
  const pitch = 2 / teeth;
  const width = pitch / 2;
  const points: Ring = [at(-1, -1), at(1, -1)];
  for (let j = teeth - 1; j >= 0; j--) {
    const x = -1 + j * pitch;
    points.push(at(x + width, -0.9), at(x + width, 1), at(x, 1), at(x, -0.9));
  }
  if (flawed) {
    const k = 2 + 4 * Math.floor(teeth / 2) + 1;
    [points[k], points[k + 1]] = [points[k + 1] as [number, number], points[k] as [number, number]];
  }
  return { name: `comb of ${teeth} teeth${flawed ? ', one with crossed corners' : ''}`, ring: closed(points), valid: !flawed };
}

/** A thick spiral arm of `vertices` points; the flaw pushes one point out past the next turn. */
export function spiral(vertices: number, flawed: boolean): AdversarialShape {
  const half = Math.floor(vertices / 2);
  const turns = Math.max(2, Math.round(Math.sqrt(half) / 8));
  const spacing = 0.9 / turns;
  const radius = (theta: number) => 0.05 + (spacing * theta) / (2 * Math.PI);
  const thetaAt = (i: number) => (i / (half - 1)) * turns * 2 * Math.PI;
  const outer: Ring = [];
  const inner: Ring = [];
  for (let i = 0; i < half; i++) {
    const theta = thetaAt(i);
    const r = radius(theta);
    outer.push(at(r * Math.cos(theta), r * Math.sin(theta)));
    inner.push(at((r - spacing / 2) * Math.cos(theta), (r - spacing / 2) * Math.sin(theta)));
  }
  if (flawed) {
    const k = Math.floor(half / 3);
    const theta = thetaAt(k);
    const r = radius(theta) + spacing * 1.25;
    outer[k] = at(r * Math.cos(theta), r * Math.sin(theta));
  }
  return { name: `spiral of ${turns} turns${flawed ? ', one point past the next turn' : ''}`, ring: closed([...outer, ...inner.reverse()]), valid: !flawed };
}

/** Every shape, valid and flawed, at each size (vertices per polygon). */
export function adversarialShapes(sizes: readonly number[]): AdversarialShape[] {
  return sizes.flatMap((n) => [star, comb, spiral].flatMap((make) => [make(n, false), make(n, true)]));
}
