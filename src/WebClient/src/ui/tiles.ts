/**
 * Where the video tiles of a call go: every visible tile of the stage is placed (absolutely, in pixels) so that all of
 * them fit the stage at its current size, whatever the window's size. One or two people share the stage equally; from
 * three on, or when someone shares a screen, one tile is featured (the screen, else the active speaker) and takes the
 * larger part, the others a grid beside or below it. Sizes come from the stage's own box (ResizeObserver), so the call
 * never pushes the controls out of the window. Inline styles set from script are CSSOM changes, which the page's
 * Content-Security-Policy allows (it forbids only style attributes and elements in markup: CSP Level 3, §6.1.3).
 */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A camera picture's shape (the call asks for 640×480); a shared screen is usually wider. */
export const CameraAspect = 4 / 3;
export const ScreenAspect = 16 / 9;

/** Space between tiles, in CSS pixels. */
const Gap = 8;

/** The featured tile's share of the stage's longer side. */
const FeaturedShare = 0.72;

/**
 * `count` equal tiles of shape `aspect`, as large as fit in `width`×`height` in some number of columns, centred.
 * Tries every column count: at most 16 people have media in a session (Media__MaxPeersPerRouter).
 */
export function gridBoxes(count: number, width: number, height: number, aspect: number = CameraAspect, gap: number = Gap): Box[] {
  if (count <= 0 || width <= 0 || height <= 0) return [];
  let best = { columns: 1, rows: count, w: 0, h: 0 };
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns);
    const cellW = (width - (columns - 1) * gap) / columns;
    const cellH = (height - (rows - 1) * gap) / rows;
    if (cellW <= 0 || cellH <= 0) continue;
    const w = Math.min(cellW, cellH * aspect);
    if (w > best.w) best = { columns, rows, w, h: w / aspect };
  }
  const { columns, rows, w, h } = best;
  const usedH = rows * h + (rows - 1) * gap;
  const top = (height - usedH) / 2;
  const boxes: Box[] = [];
  for (let i = 0; i < count; i++) {
    const row = Math.floor(i / columns);
    // The last row may be short: centre it on its own.
    const inRow = row === rows - 1 ? count - row * columns : columns;
    const rowW = inRow * w + (inRow - 1) * gap;
    const left = (width - rowW) / 2;
    boxes.push({ x: left + (i - row * columns) * (w + gap), y: top + row * (h + gap), width: w, height: h });
  }
  return boxes;
}

/**
 * One featured tile (first box, of shape `featuredAspect`) and `others` tiles in a grid: beside it on a landscape
 * stage, below it on a portrait one.
 */
export function featuredBoxes(others: number, width: number, height: number, featuredAspect: number, gap: number = Gap): Box[] {
  if (others <= 0) return gridBoxes(1, width, height, featuredAspect, gap);
  const landscape = width >= height;
  const main = landscape
    ? { x: 0, y: 0, width: (width - gap) * FeaturedShare, height }
    : { x: 0, y: 0, width, height: (height - gap) * FeaturedShare };
  const strip = landscape
    ? { x: main.width + gap, y: 0, width: width - main.width - gap, height }
    : { x: 0, y: main.height + gap, width, height: height - main.height - gap };
  const [featured] = gridBoxes(1, main.width, main.height, featuredAspect, gap);
  const rest = gridBoxes(others, strip.width, strip.height, CameraAspect, gap).map((b) => ({ ...b, x: b.x + strip.x, y: b.y + strip.y }));
  return [{ ...featured, x: featured.x + main.x, y: featured.y + main.y }, ...rest];
}

/**
 * Keeps the tiles of a stage laid out. A tile is a child element with class `tile` that is not hidden (the self-view, `tile self`, floats on its own: movable.ts); one with
 * `data-kind="screen"` is a shared screen; `data-speaking="true"` marks the active speaker. The stage must be
 * positioned (it is the tiles' containing block).
 */
export class TileLayout {
  private readonly resize: ResizeObserver;
  private readonly mutations: MutationObserver;
  private frame = 0;

  constructor(private readonly stage: HTMLElement) {
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(stage);
    this.mutations = new MutationObserver(() => this.schedule());
    this.mutations.observe(stage, { childList: true, subtree: true, attributes: true, attributeFilter: ['hidden', 'data-speaking', 'data-kind'] });
    this.schedule();
  }

  /** Lays the tiles out at the next frame (many changes in one frame cost one layout). */
  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.apply();
    });
  }

  disconnect(): void {
    this.resize.disconnect();
    this.mutations.disconnect();
    cancelAnimationFrame(this.frame);
  }

  private apply(): void {
    const tiles = [...this.stage.children].filter((c): c is HTMLElement => c instanceof HTMLElement && c.classList.contains('tile') && !c.classList.contains('self') && !c.hidden);
    const width = this.stage.clientWidth;
    const height = this.stage.clientHeight;
    // A hidden stage (the patient still waiting) has no size: its tiles are laid out when it is shown.
    if (width === 0 || height === 0) return;
    const screen = tiles.find((t) => t.dataset.kind === 'screen');
    const speaker = tiles.length >= 3 ? tiles.find((t) => t.dataset.speaking === 'true') : undefined;
    const featured = screen ?? speaker;
    const ordered = featured ? [featured, ...tiles.filter((t) => t !== featured)] : tiles;
    const boxes = featured
      ? featuredBoxes(tiles.length - 1, width, height, featured === screen ? ScreenAspect : CameraAspect)
      : gridBoxes(tiles.length, width, height);
    ordered.forEach((tile, i) => {
      const box = boxes[i];
      if (!box) return;
      tile.dataset.featured = String(tile === featured);
      tile.style.left = `${Math.round(box.x)}px`;
      tile.style.top = `${Math.round(box.y)}px`;
      tile.style.width = `${Math.floor(box.width)}px`;
      tile.style.height = `${Math.floor(box.height)}px`;
    });
  }
}
