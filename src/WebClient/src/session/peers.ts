/** What a page knows of the other people in the session (names, and the marks their own pages reported), and what it tells them of its own. */
import type { HubConnection } from '@microsoft/signalr';
import type { LocalMedia } from '../media/localMedia';
import type { PeerMarks } from '../ui/remoteTile';
import type { PeerInfo } from './contract';

export class PeerDirectory {
  private readonly names = new Map<string, string>();
  private readonly marks = new Map<string, PeerMarks>();

  /** Learns a participant's name, and their marks when the message carries them. */
  learn(peer: Pick<PeerInfo, 'participantId' | 'name'> & Partial<PeerInfo>): void {
    this.names.set(peer.participantId, peer.name);
    if (peer.microphoneOff !== undefined || peer.cameraOff !== undefined) {
      this.marks.set(peer.participantId, { microphoneOff: !!peer.microphoneOff, cameraOff: !!peer.cameraOff });
    }
  }

  nameOf(participantId: string): string | undefined {
    return this.names.get(participantId);
  }

  marksOf(participantId: string): PeerMarks | null {
    return this.marks.get(participantId) ?? null;
  }
}

/**
 * Tells the session this page's microphone and camera state now and whenever it changes (SetMediaState), so the others
 * mark this tile. A failed call is not worth an error on the page: the marks are a courtesy, the media is what counts.
 */
export function reportMediaState(hub: HubConnection, local: LocalMedia | null): void {
  if (!local) return;
  const send = (): void => {
    void hub.invoke('SetMediaState', local.isMuted, local.isCameraOff).catch(() => undefined);
  };
  local.onStateChanged(send);
  send();
}
