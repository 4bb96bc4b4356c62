/**
 * The call view shared by the therapist's session room and the patient's join page: a stage with the remote tiles
 * (laid out by tiles.ts) and the movable self-view, a bar of controls below it, and side panels (the waiting room,
 * the chat) beside the stage on a wide window or over it on a narrow one. While it is shown the page is exactly as
 * tall as the window (body.in-call in styles.css), so the controls are never below the fold, at any size from a
 * 360×640 phone to a 1920×1080 screen.
 */
import { el } from '../dom';
import type { LocalMedia } from '../media/localMedia';
import { selfView } from './callControls';
import { makeMovable } from './movable';
import { TileLayout } from './tiles';

export interface PanelHandle {
  /** The bar button that opens and closes the panel (hidden on wide windows for a docked panel). */
  button: HTMLButtonElement;
  open(): void;
  close(): void;
  readonly isOpen: boolean;
}

export class CallView {
  readonly root: HTMLElement;
  /** Where remote tiles go (each an element with class `tile`). */
  readonly tiles: HTMLElement;
  /** The control bar: the page appends its buttons; {@link end} holds the ones that end the call. */
  readonly bar: HTMLElement;
  readonly end: HTMLElement = el('div', { class: 'bar-end' });
  readonly empty: HTMLElement;
  private readonly panels = el('div', { class: 'side-panels' });
  private readonly opened = new Set<HTMLElement>();
  private readonly layout: TileLayout;
  private readonly stopMoving: () => void;
  private readonly listeners: Array<(open: boolean) => void> = [];

  constructor(local: LocalMedia | null, emptyText: string) {
    this.empty = el('p', { class: 'stage-empty' }, emptyText);
    const self = selfView(local);
    this.tiles = el('div', { class: 'call-stage tiles', 'aria-label': 'Video' }, this.empty, self);
    this.bar = el('div', { class: 'call-bar', role: 'toolbar', 'aria-label': 'Call controls' });
    this.root = el('div', { class: 'call-view' }, this.tiles, this.panels, el('div', { class: 'call-bar-row' }, this.bar, this.end));
    this.layout = new TileLayout(this.tiles);
    this.stopMoving = makeMovable(self, this.tiles);
  }

  /**
   * Adds a side panel and its bar button. A docked panel (the therapist's waiting room) is always shown beside the
   * stage on a wide window; on a narrow one, and for other panels everywhere, the button opens it (one at a time
   * on a narrow window, where it covers the stage but never the bar).
   */
  addPanel(panel: HTMLElement, label: string, docked: boolean): PanelHandle {
    const id = panel.id || `panel-${this.panels.childElementCount + 1}`;
    panel.id = id;
    panel.classList.add('side-panel');
    panel.classList.toggle('docked', docked);
    const button = el('button', { type: 'button', class: `secondary panel-button${docked ? ' docked' : ''}`, 'aria-expanded': 'false', 'aria-controls': id }, label);
    const handle: PanelHandle = {
      button,
      open: () => this.setOpen(panel, button, true),
      close: () => this.setOpen(panel, button, false),
      get isOpen() {
        return panel.classList.contains('open');
      },
    };
    button.addEventListener('click', () => this.setOpen(panel, button, !panel.classList.contains('open')));
    const close = el('button', { type: 'button', class: 'link panel-close' }, 'Close');
    close.addEventListener('click', () => handle.close());
    panel.prepend(close);
    this.panels.append(panel);
    return handle;
  }

  /** Called when a panel opens or closes. */
  onPanelChange(listener: (open: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Puts the view on the page: the page becomes exactly as tall as the window. */
  show(): void {
    document.body.classList.add('in-call');
    this.layout.schedule();
  }

  hide(): void {
    document.body.classList.remove('in-call');
  }

  dispose(): void {
    this.hide();
    this.layout.disconnect();
    this.stopMoving();
  }

  private setOpen(panel: HTMLElement, button: HTMLButtonElement, open: boolean): void {
    if (open && window.matchMedia('(max-width: 899px)').matches) {
      // Narrow: one panel at a time over the stage.
      for (const other of [...this.opened]) {
        if (other !== panel) this.setOpen(other, this.buttonOf(other), false);
      }
    }
    panel.classList.toggle('open', open);
    button.setAttribute('aria-expanded', String(open));
    if (open) this.opened.add(panel);
    else this.opened.delete(panel);
    this.panels.classList.toggle('has-open', this.opened.size > 0);
    for (const listener of this.listeners) listener(open);
  }

  private buttonOf(panel: HTMLElement): HTMLButtonElement {
    return this.root.querySelector(`.panel-button[aria-controls="${CSS.escape(panel.id)}"]`) as HTMLButtonElement;
  }
}
