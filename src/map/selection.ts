// What a click on the live map answers, in the side panel: on a geofence, the devices the rules
// have inside it now (GET /v1/geofences/{id}/devices); anywhere else, the five devices nearest
// the point (GET /v1/devices?nearest=), with their distances, and a marker where it was asked.
import maplibregl from 'maplibre-gl';

/** A GET of the API with the map's key. */
export type Get = <T>(path: string) => Promise<T>;

const NEAREST = 5;

interface Occupant {
  device_id: string;
  dwell_seconds: number;
}

interface Near {
  id: string;
  distance_m: number;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function distance(metres: number): string {
  return metres < 1000 ? `${Math.round(metres)} m` : `${(metres / 1000).toFixed(2)} km`;
}

export class SelectionPanel {
  private readonly marker = new maplibregl.Marker({ color: '#6b3fa0' });

  constructor(
    private readonly map: maplibregl.Map,
    private readonly panel: HTMLElement,
    private readonly title: HTMLElement,
    private readonly list: HTMLOListElement,
  ) {}

  /** Answers clicks with `get` from now on (the key's tenant). */
  follow(get: () => Get | null): void {
    this.map.on('click', (e) => {
      const api = get();
      if (api === null) return;
      const fence = this.map.queryRenderedFeatures(e.point, { layers: ['geofence-fill'] })[0];
      const shown = fence === undefined ? this.nearest(api, e.lngLat) : this.occupants(api, String(fence.properties.id), String(fence.properties.name ?? fence.properties.id));
      shown.catch((err: Error) => this.show(`Could not ask: ${err.message}`, []));
    });
  }

  private async occupants(get: Get, id: string, name: string): Promise<void> {
    this.marker.remove();
    const answer = await get<{ count: number; results: Occupant[] }>(`/v1/geofences/${encodeURIComponent(id)}/devices?limit=100`);
    this.show(`Inside ${name}: ${answer.count}`, answer.results.map((o) => [o.device_id, `for ${duration(o.dwell_seconds)}`]));
  }

  private async nearest(get: Get, at: maplibregl.LngLat): Promise<void> {
    this.marker.setLngLat(at).addTo(this.map);
    const answer = await get<{ results: Near[] }>(`/v1/devices?nearest=${at.lat.toFixed(6)},${at.lng.toFixed(6)}&limit=${NEAREST}`);
    this.show(`Nearest to ${at.lat.toFixed(4)}, ${at.lng.toFixed(4)}`, answer.results.map((d) => [d.id, distance(d.distance_m)]));
  }

  private show(heading: string, rows: [string, string][]): void {
    this.panel.hidden = false;
    this.title.textContent = heading;
    this.list.replaceChildren(...rows.map(([device, detail]) => {
      const item = document.createElement('li');
      item.dataset.device = device;
      const what = document.createElement('span');
      what.className = 'type';
      what.textContent = device;
      item.append(what, ` ${detail}`);
      return item;
    }));
  }
}
