/**
 * One remote participant's tile: their video, their name, and marks for what their own page reported (microphone off,
 * camera off) and for the active speaker. A shared screen gets a tile of its own (`data-kind="screen"`), which the
 * layout (tiles.ts) shows large. Marks are text, so a screen reader says them with the name.
 */
import { el } from '../dom';

export interface PeerMarks {
  microphoneOff: boolean;
  cameraOff: boolean;
}

export type TileKind = 'camera' | 'screen';

export class RemoteTile {
  readonly root: HTMLElement;
  readonly video: HTMLVideoElement;
  readonly label: HTMLElement;
  private readonly microphoneMark = el('span', { class: 'mark microphone-off', hidden: true }, 'Microphone off');
  private readonly cameraMark = el('span', { class: 'mark camera-off', hidden: true }, 'Camera off');

  constructor(
    readonly participantId: string,
    readonly kind: TileKind,
    readonly streamId: string,
  ) {
    this.video = el('video', { autoplay: true, playsinline: true });
    this.label = el('figcaption', {});
    const marks = el('div', { class: 'marks' }, this.microphoneMark, this.cameraMark);
    this.root = el('figure', { class: `tile remote${kind === 'screen' ? ' screen' : ''}`, 'data-participant': participantId, 'data-kind': kind, hidden: true }, this.video, this.label, marks);
  }

  setName(name: string): void {
    const text = this.kind === 'screen' ? `${name} · screen` : name;
    if (this.label.textContent !== text) this.label.textContent = text;
  }

  setMarks(marks: PeerMarks | null): void {
    const camera = this.kind === 'camera';
    this.microphoneMark.hidden = !(camera && marks?.microphoneOff);
    this.cameraMark.hidden = !(camera && marks?.cameraOff);
    this.root.dataset.cameraOff = String(camera && !!marks?.cameraOff);
  }

  setSpeaking(speaking: boolean): void {
    const value = String(speaking);
    if (this.root.dataset.speaking !== value) this.root.dataset.speaking = value;
  }
}
