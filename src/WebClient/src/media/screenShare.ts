/**
 * Sharing a screen or a window: getDisplayMedia (MDN: it must follow a click, and the browser lets the person pick
 * what to share), sent by the call as a second video track. One button starts and stops it ("Share screen" /
 * "Stop sharing"); the browser's own "Stop sharing" ends the track, which stops it too (the track's ended event).
 * Therapists may always share; a patient or caregiver once a therapist allowed it (the relay enforces it).
 */
import { el } from '../dom';
import type { Call } from './call';

export class ScreenShareControl {
  readonly button = el('button', { type: 'button', class: 'secondary screen-share', hidden: true }, 'Share screen');
  private track: MediaStreamTrack | null = null;
  private allowed = false;
  private busy = false;

  constructor(
    private readonly call: () => Call | null,
    private readonly onProblem: (message: string) => void,
  ) {
    this.button.addEventListener('click', () => void (this.track ? this.stop() : this.start()));
  }

  get isSharing(): boolean {
    return this.track !== null;
  }

  /** Shows the button when sharing is allowed and the browser can; taking it back stops a share in progress. */
  setAllowed(allowed: boolean): void {
    this.allowed = allowed;
    this.button.hidden = !allowed || typeof navigator.mediaDevices?.getDisplayMedia !== 'function';
    if (!allowed && this.track) void this.stop();
  }

  async start(): Promise<void> {
    const call = this.call();
    if (this.busy || !call || !this.allowed) return;
    this.busy = true;
    let track: MediaStreamTrack | undefined;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      track = stream.getVideoTracks()[0];
      if (!track) return;
      await call.shareScreen(track);
      this.track = track;
      track.addEventListener('ended', () => void this.stop());
      this.show();
    } catch (error) {
      track?.stop();
      // Cancelling the browser's picker is a choice, not a problem (NotAllowedError).
      if (!(error instanceof DOMException && error.name === 'NotAllowedError')) {
        this.onProblem(/screen-share-not-allowed/.test(String(error)) ? 'Your therapist has not allowed screen sharing.' : 'Your screen could not be shared.');
      }
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    const track = this.track;
    if (!track) return;
    this.track = null;
    track.stop();
    this.show();
    await this.call()?.stopScreen().catch(() => undefined);
  }

  private show(): void {
    const sharing = this.track !== null;
    this.button.textContent = sharing ? 'Stop sharing' : 'Share screen';
    this.button.classList.toggle('sharing', sharing);
  }
}
