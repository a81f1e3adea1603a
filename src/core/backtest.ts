import { INITIAL_STATE, type DeviceState } from './device-state.js';
import type { DerivedEvent } from './event.js';
import type { Fix } from './fix.js';
import type { Geofence } from './geometry/geofence.js';
import { GeofenceIndex } from './geometry/geofence-index.js';
import { processFix } from './process-fix.js';
import type { RuleConfig } from './rule-config.js';
import { geofenceRule } from './rules/geofence.js';

/** A stored fix as a backtest reads it: what the geofence rule looks at. */
export interface BacktestFix {
  readonly deviceId: string;
  readonly ts: number;
  readonly lat: number;
  readonly lon: number;
  readonly speed: number | null;
}

/**
 * What one geofence would have derived over stored positions: the live path's own geofence rule
 * (processFix with only that rule), run over each device's fixes in time order, with the
 * tenant's rules (hysteresis) and the geofence's own settings (dwell, hysteresis). Each device
 * starts outside the geofence at the start of the range: one inside at its first fix gets its
 * enter there. Fixes come grouped by device, oldest first within a device (as stored fixes are
 * read); a fix no newer than the device's previous one is skipped, as the live path skips it.
 * Each device has the tags `tagsOf` gives it (its tags now: their history is not kept), which
 * decide whether a geofence with device_tags applies to it and its rule override.
 */
export class Backtest {
  private readonly index: GeofenceIndex;
  private deviceId: string | null = null;
  private state: DeviceState = INITIAL_STATE;
  private devices = 0;
  private fixes = 0;

  constructor(private readonly tenantId: string, geofence: Geofence, private readonly rules: RuleConfig, private readonly tagsOf: ReadonlyMap<string, readonly string[]> = new Map()) {
    this.index = new GeofenceIndex([geofence]);
  }

  /** The events this fix derives (in the order the live path derives them). */
  take(stored: BacktestFix): readonly DerivedEvent[] {
    if (stored.deviceId !== this.deviceId) {
      this.deviceId = stored.deviceId;
      const tags = this.tagsOf.get(stored.deviceId);
      this.state = tags === undefined ? INITIAL_STATE : { ...INITIAL_STATE, tags };
      this.devices++;
    }
    this.fixes++;
    const fix: Fix = {
      tenantId: this.tenantId, deviceId: stored.deviceId, ts: stored.ts, lat: stored.lat, lon: stored.lon, speed: stored.speed,
      heading: null, altitude: null, accuracy: null, satellites: null, ignition: null, odometer: null, attributes: null,
    };
    const result = processFix(this.state, fix, { index: this.index, rules: this.rules, receivedAt: stored.ts }, [geofenceRule]);
    this.state = result.state;
    // A device's zone ranks all the tenant's geofences: one geofence alone says nothing of it.
    return result.events.filter((e) => e.type !== 'geofence.change');
  }

  /** Fixes and devices taken so far. */
  get counts(): { fixes: number; devices: number } {
    return { fixes: this.fixes, devices: this.devices };
  }
}
