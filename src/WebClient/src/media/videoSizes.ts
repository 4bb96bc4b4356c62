/**
 * Tells the relay how large each remote video is shown (the hub's SetVideoSize), so that it forwards no larger simulcast
 * layer than the tile needs: the smallest layer at least as wide or as high as the tile (the video is fitted whole into
 * it). A tile's size is its video element's box in device pixels (CSS pixels × devicePixelRatio), so a sharp screen gets
 * the larger layer its pixels can show; a tile that was shown and is hidden again is 0×0 (the relay then sends the
 * smallest layer). Watched with a ResizeObserver; sent per tile at most once every 500 ms, and only when the size changed
 * by more than a tenth: layers are a factor of two apart, so smaller changes seldom change the layer. At most
 * {@link PerRound} tiles are sent at once, so resizing the window with a full grid stays within the hub's call budget.
 */

export type SendVideoSize = (streamId: string, width: number, height: number) => Promise<unknown>;

/** The least time between two sizes sent for one tile, in milliseconds. */
export const MinInterval = 500;

/** After a send failed (the hub refused it, e.g. rate-limited), the next try. */
const RetryAfter = 1000;

/** A change of either side by more than this share is sent. */
const Threshold = 0.1;

/** Tiles sent in one round; the rest go in the next. */
const PerRound = 8;

interface Size {
  width: number;
  height: number;
}

interface Watched {
  streamId: string;
  element: HTMLElement;
  sent: Size | null;
  sentAt: number;
  busy: boolean;
}

/** Whether a tile's size is worth telling the relay, given what it was told last. */
export function sizeChanged(sent: Size | null, now: Size): boolean {
  const hidden = now.width === 0 || now.height === 0;
  if (!sent) return !hidden; // a tile never shown needs no layer
  const wasHidden = sent.width === 0 || sent.height === 0;
  if (hidden || wasHidden) return hidden !== wasHidden;
  return Math.abs(now.width - sent.width) > sent.width * Threshold || Math.abs(now.height - sent.height) > sent.height * Threshold;
}

export class VideoSizes {
  private readonly observer: ResizeObserver;
  private readonly watched = new Map<HTMLElement, Watched>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(private readonly send: SendVideoSize) {
    this.observer = new ResizeObserver(() => this.flush());
  }

  /** Watches a remote tile's video element, for the stream it shows (its id in the relay's subscribe offer). */
  watch(streamId: string, element: HTMLElement): void {
    if (this.watched.has(element)) return;
    this.watched.set(element, { streamId, element, sent: null, sentAt: 0, busy: false });
    this.observer.observe(element);
    // The first picture (or a new picture size) may come without the box changing.
    element.addEventListener('resize', () => this.flush());
  }

  disconnect(): void {
    this.closed = true;
    this.observer.disconnect();
    this.watched.clear();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private flush(): void {
    if (this.closed) return;
    const now = performance.now();
    let next = Infinity;
    let sent = 0;
    for (const tile of this.watched.values()) {
      if (tile.busy) continue;
      // Until a tile shows a picture its box is still being laid out (a video element without one is 300×150):
      // reporting it would cap the layer below what the tile will need a moment later, a switch down and back up.
      if (tile.element instanceof HTMLVideoElement && tile.element.videoWidth === 0) continue;
      const size = sizeOf(tile.element);
      if (!sizeChanged(tile.sent, size)) continue;
      const due = tile.sentAt + MinInterval;
      if (due > now || sent >= PerRound) {
        next = Math.min(next, Math.max(due, now + MinInterval / 5));
        continue;
      }
      sent++;
      this.sendSize(tile, size, now);
    }
    if (next !== Infinity) this.flushAt(next - now);
  }

  private sendSize(tile: Watched, size: Size, now: number): void {
    tile.busy = true;
    tile.sentAt = now;
    this.send(tile.streamId, size.width, size.height)
      .then(() => {
        tile.sent = size;
      })
      .catch(() => {
        // Refused or the hub was away: tried again later, with whatever size the tile has then.
        tile.sentAt = performance.now() + RetryAfter - MinInterval;
      })
      .finally(() => {
        tile.busy = false;
        if (!this.closed) this.flushAt(Math.max(0, tile.sentAt + MinInterval - performance.now()));
      });
  }

  private flushAt(delay: number): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delay);
  }
}

/** The element's box in device pixels (0×0 when it is not rendered). */
function sizeOf(element: HTMLElement): Size {
  const ratio = window.devicePixelRatio || 1;
  return { width: Math.round(element.clientWidth * ratio), height: Math.round(element.clientHeight * ratio) };
}
