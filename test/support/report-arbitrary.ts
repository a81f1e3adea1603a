import fc from 'fast-check';

/** Text of any kind, with what PostgreSQL refuses mixed in: NUL and both halves of surrogate pairs. */
export const anyText = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 4 },
  { arbitrary: fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u0000b', 'x\ud800y', '\ud83d\ude00', 'Landstraße', ''), weight: 2 },
);

/** Numbers at the edges: NaN, infinities, subnormals, what a 32-bit float rounds to 0 or infinity. */
const edgeNumber = fc.oneof(fc.double(), fc.constantFrom(1e39, -1e-50, 1e-45, 3.4e38, -0, Number.MAX_SAFE_INTEGER));

/** Mostly `plausible`, sometimes anything at all. */
function mostly<T>(plausible: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown> = fc.oneof(edgeNumber, anyText, fc.boolean())): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: plausible, weight: 30 }, { arbitrary: hostile, weight: 1 });
}

/** A plausible reading, to the hundredth (fc.double would favour subnormals and the extremes). */
const between = (min: number, max: number) => fc.integer({ min: min * 100, max: max * 100 }).map((n) => n / 100);
const attributeValue = mostly(fc.oneof(between(-1e6, 1e6), fc.boolean(), anyText), fc.oneof(edgeNumber, fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })));

/**
 * A position report as a careless or hostile device might send it: plausible fields mostly, and
 * now and then any type, numbers at the edges of every range, and text PostgreSQL cannot store.
 */
export function anyReport(nowMs: number) {
  return fc.record({
    ts: mostly(fc.integer({ min: nowMs - 86_400_000, max: nowMs }), fc.oneof(fc.integer(), anyText, fc.constant('2026-11-22T08:00:00Z'))),
    lat: mostly(between(-90, 90)),
    lon: mostly(between(-180, 180)),
    speed: mostly(between(0, 300)),
    heading: mostly(between(0, 360)),
    altitude: mostly(between(-500, 9000)),
    accuracy: mostly(between(0, 100)),
    odometer: mostly(between(0, 1e7)),
    satellites: mostly(fc.integer({ min: 0, max: 40 })),
    ignition: mostly(fc.boolean()),
    attributes: mostly(fc.dictionary(anyText, attributeValue, { maxKeys: 5 }), fc.oneof(anyText, fc.constant(null))),
    driver_id: mostly(fc.constantFrom('drv-1', 'anna', null), anyText),
    posted_speed_limit: mostly(between(5, 130)),
  }, { requiredKeys: ['ts', 'lat', 'lon'] });
}
