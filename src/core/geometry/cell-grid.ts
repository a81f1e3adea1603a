import { packLists } from './packed-lists.js';
import type { BBox } from './prepared-polygon.js';

/**
 * A uniform grid over a set of boxes, for point queries: each cell lists the boxes that overlap
 * it, so a point costs one cell lookup and a few box tests. An R-tree answers the same question
 * in O(log n), but walking it touches dozens of scattered nodes; at 100 000 geofences that was
 * 4 µs a point, the grid is well under one. Boxes much larger than the typical one are kept aside
 * and tested for every point, so that one country-sized fence does not fill thousands of cells.
 */

/** Cells per box on average that the grid aims for, and the most cells one box may fill. */
const CELLS_PER_BOX = 2;
const MAX_CELLS_FOR_ONE_BOX = 64;

export class CellGrid {
  private readonly boxes: Float64Array;
  private readonly minLon: number = 0;
  private readonly minLat: number = 0;
  private readonly columns: number = 0;
  private readonly rows: number = 0;
  private readonly cellSize: number = 1;
  private readonly cellStart: Uint32Array = new Uint32Array(1);
  private readonly cellItems: Uint32Array = new Uint32Array(0);
  /** Boxes too large for the grid: tested for every point. */
  private readonly large: Uint32Array = new Uint32Array(0);

  constructor(boxes: readonly BBox[]) {
    this.boxes = new Float64Array(boxes.length * 4);
    boxes.forEach((b, i) => this.boxes.set([b.minLon, b.minLat, b.maxLon, b.maxLat], i * 4));
    if (boxes.length === 0) return;

    // Cell size: the median box extent, grown until the grid has no more cells than wanted.
    const extents = boxes.map((b) => Math.max(b.maxLon - b.minLon, b.maxLat - b.minLat)).sort((a, b) => a - b);
    let cellSize = Math.max(extents[Math.floor(extents.length / 2)] as number, 1e-6);
    this.minLon = Math.min(...boxes.map((b) => b.minLon));
    this.minLat = Math.min(...boxes.map((b) => b.minLat));
    const width = Math.max(...boxes.map((b) => b.maxLon)) - this.minLon;
    const height = Math.max(...boxes.map((b) => b.maxLat)) - this.minLat;
    while (Math.ceil(width / cellSize + 1) * Math.ceil(height / cellSize + 1) > CELLS_PER_BOX * boxes.length + 16) cellSize *= 1.5;
    this.cellSize = cellSize;
    this.columns = Math.ceil(width / cellSize) + 1;
    this.rows = Math.ceil(height / cellSize) + 1;

    const lists: number[][] = Array.from({ length: this.columns * this.rows }, () => []);
    const large: number[] = [];
    boxes.forEach((b, i) => {
      const [c0, c1] = [this.column(b.minLon), this.column(b.maxLon)];
      const [r0, r1] = [this.row(b.minLat), this.row(b.maxLat)];
      if ((c1 - c0 + 1) * (r1 - r0 + 1) > MAX_CELLS_FOR_ONE_BOX) {
        large.push(i);
        return;
      }
      for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) lists[r * this.columns + c]?.push(i);
    });
    this.large = Uint32Array.from(large);
    const packed = packLists(lists);
    this.cellStart = packed.start;
    this.cellItems = packed.items;
  }

  private column(lon: number): number {
    return Math.floor((lon - this.minLon) / this.cellSize);
  }

  private row(lat: number): number {
    return Math.floor((lat - this.minLat) / this.cellSize);
  }

  private holds(i: number, lon: number, lat: number): boolean {
    const b = this.boxes;
    const k = i * 4;
    return lon >= (b[k] as number) && lat >= (b[k + 1] as number) && lon <= (b[k + 2] as number) && lat <= (b[k + 3] as number);
  }

  /** Calls `visit` with the index of every box containing the point (edges included). */
  forEachAt(lon: number, lat: number, visit: (index: number) => void): void {
    for (const i of this.large) if (this.holds(i, lon, lat)) visit(i);
    const c = this.column(lon);
    const r = this.row(lat);
    if (c < 0 || r < 0 || c >= this.columns || r >= this.rows) return;
    const cell = r * this.columns + c;
    for (let k = this.cellStart[cell] as number, end = this.cellStart[cell + 1] as number; k < end; k++) {
      const i = this.cellItems[k] as number;
      if (this.holds(i, lon, lat)) visit(i);
    }
  }
}
