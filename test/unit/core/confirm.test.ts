import { describe, expect, it } from 'vitest';
import { fence, run, T0, type Row } from './timeline.js';

// confirm_s (issue 21, item 5): a device must stay inside (outside) a geofence that long before
// enter (leave) is derived; the event keeps the time of the first fix inside (outside).
const square = { type: 'Polygon', coordinates: [[[13, 52], [13.01, 52], [13.01, 52.01], [13, 52.01], [13, 52]]] };
const yard = (confirmS = 60, more: Record<string, unknown> = {}) => fence('yard', square, { confirm_s: confirmS, ...more });
const IN = { lat: 52.005, lon: 13.005 };
const OUT = { lat: 52.005, lon: 12.99 };
const at = (t: number, where: { lat: number; lon: number }): Row => ({ t, ...where });
const iso = (t: number) => new Date(T0 + t * 1000).toISOString();

describe('confirm_s - fewer repeated alerts', () => {
  it('derives enter once the device has been inside confirm_s, at the time of its first fix inside', () => {
    const { events, all } = run([at(0, OUT), at(10, IN), at(40, IN), at(70, IN), at(80, IN)], [yard()]);
    expect(events).toEqual([[10, 'geofence.enter']]);
    expect(all[0]?.data).toMatchObject({ geofence_id: 'yard', confirmed_at: iso(70) });
  });

  it('derives nothing for a visit shorter than confirm_s, and a fix outside starts the wait over', () => {
    expect(run([at(0, OUT), at(10, IN), at(40, IN), at(50, OUT), at(60, IN), at(100, IN)], [yard()]).events).toEqual([]);
    expect(run([at(0, OUT), at(10, IN), at(40, IN), at(50, OUT), at(60, IN), at(120, IN)], [yard()]).events).toEqual([[60, 'geofence.enter']]);
  });

  it('derives leave once the device has been outside confirm_s, at its first fix outside, and none when it comes back sooner', () => {
    const rows = [at(0, IN), at(60, IN), at(100, OUT), at(130, IN), at(200, OUT), at(230, OUT), at(260, OUT)];
    const { events, all } = run(rows, [yard()]);
    expect(events).toEqual([[0, 'geofence.enter'], [200, 'geofence.leave']]);
    expect(all[1]?.data).toMatchObject({ dwell_seconds: 200, confirmed_at: iso(260) });
  });

  it('takes a crossing between sparse fixes only when its interpolated time inside is confirm_s or more', () => {
    // 0.02 degrees of longitude in 100 s, half of it through the yard: 50 s inside.
    const sparse = [{ t: 0, lat: 52.005, lon: 12.995 }, { t: 100, lat: 52.005, lon: 13.015 }];
    expect(run(sparse, [yard(60)]).events).toEqual([]);
    expect(run(sparse, [yard(40)]).events).toEqual([[100, 'geofence.crossed']]);
  });

  it('without confirm_s (or 0), enters and leaves at once as before', () => {
    expect(run([at(0, OUT), at(10, IN), at(20, OUT)], [yard(0)]).events).toEqual([[10, 'geofence.enter'], [20, 'geofence.leave']]);
  });
});
