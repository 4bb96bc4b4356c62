/**
 * The media of one participant in a session: a publish connection (our camera and microphone, sendonly) and a
 * subscribe connection (everyone else, offered by the relay). Both are negotiated while waiting, so admission is
 * instant: the relay only opens its gate. Remote tracks are grouped by stream id (the relay uses the participant id)
 * into one tile per remote participant; a tile shows once media flows, which the relay allows only in session.
 * Video is published in simulcast layers (simulcast.ts), so the relay can give each participant the layer their
 * connection carries; if the relay or the browser refuses the layers, one full-size encoding is sent instead.
 */
import type { HubConnection } from '@microsoft/signalr';
import { el } from '../dom';
import type { LocalMedia } from './localMedia';
import { singleEncoding, videoEncodings } from './simulcast';

export type Quality = 'good' | 'fair' | 'poor' | 'connecting';

export interface CallOptions {
  hub: HubConnection;
  iceServers: RTCIceServer[];
  local: LocalMedia | null;
  /** Where the remote tiles go. */
  tiles: HTMLElement;
  /** The name shown under a remote participant's tile. */
  nameOf: (participantId: string) => string;
  /** Called when the number of visible remote tiles changes. */
  onTilesChanged?: (visible: number) => void;
  onError?: (message: string) => void;
}

interface Tile {
  id: string;
  stream: MediaStream;
  root: HTMLElement;
  video: HTMLVideoElement;
  label: HTMLElement;
}

declare global {
  interface Window {
    __teletherapy?: { publish: RTCPeerConnection | null; subscribe: RTCPeerConnection };
  }
}

export class Call {
  readonly subscribe: RTCPeerConnection;
  private publishConnection: RTCPeerConnection | null;
  private readonly config: RTCConfiguration;
  private readonly tiles = new Map<string, Tile>();
  private readonly hidden = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private lastOfferVersion = -1;
  private closed = false;
  private lastVisible = -1;
  private previousInbound: { received: number; lost: number } | null = null;
  private readonly onOffer = (sdp: string): void => {
    void this.enqueue(() => this.answer(sdp));
  };

  constructor(private readonly options: CallOptions) {
    const config: RTCConfiguration = { iceServers: options.iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    this.config = config;
    this.subscribe = new RTCPeerConnection(config);
    this.publishConnection = options.local ? new RTCPeerConnection(config) : null;
    this.subscribe.ontrack = (event) => this.addTrack(event);
    options.hub.on('SubscribeOffer', this.onOffer);
    options.local?.onTrackChanged((kind, track) => void this.replaceTrack(kind, track));
    window.__teletherapy = { publish: this.publishConnection, subscribe: this.subscribe };
  }

  /** The connection that sends our camera and microphone; null without local media. */
  get publish(): RTCPeerConnection | null {
    return this.publishConnection;
  }

  /** Negotiates the subscribe connection, then the publish connection. */
  async start(): Promise<void> {
    await this.enqueue(async () => {
      const offer = await this.options.hub.invoke<string>('RequestSubscribeOffer');
      await this.answer(offer);
    });
    const local = this.options.local;
    const publish = this.publishConnection;
    if (!publish || !local) return;
    let layered = false;
    try {
      layered = this.addLocalTracks(publish, local, true);
      await this.negotiatePublish(publish);
    } catch (error) {
      if (!layered || this.closed) throw error;
      // The relay or this browser refused the simulcast offer: publish again, one encoding, on a fresh connection.
      publish.close();
      const single = new RTCPeerConnection(this.config);
      this.publishConnection = single;
      window.__teletherapy = { publish: single, subscribe: this.subscribe };
      this.addLocalTracks(single, local, false);
      await this.negotiatePublish(single);
    }
    // Only the picture's size is at stake here, not the call: a browser that refuses keeps sending what it sends.
    if (layered) await this.keepFullPictureWithoutLayers(local).catch(() => undefined);
  }

  /** Shows a participant's tile again once their media flows; hides it now (they left or were sent back). */
  hideParticipant(participantId: string): void {
    const tile = this.tiles.get(participantId);
    if (tile) {
      this.hidden.add(participantId);
      this.update(tile);
    }
  }

  showParticipant(participantId: string): void {
    this.hidden.delete(participantId);
    const tile = this.tiles.get(participantId);
    if (tile) this.update(tile);
  }

  refreshNames(): void {
    for (const tile of this.tiles.values()) tile.label.textContent = this.options.nameOf(tile.id);
  }

  /** A rough verdict from round-trip time and loss, for the connection indicator. */
  async quality(): Promise<Quality> {
    // A subscribe connection without media (nobody else publishes yet) has no transport to judge.
    const connections = [this.subscribe, this.publish].filter((pc): pc is RTCPeerConnection => pc !== null && pc.getTransceivers().length > 0);
    if (connections.length === 0) return 'connecting';
    if (connections.some((pc) => pc.connectionState !== 'connected')) return 'connecting';
    let rtt: number | null = null;
    let received = 0;
    let lost = 0;
    for (const pc of connections) {
      const stats = await pc.getStats();
      stats.forEach((report: Record<string, unknown>) => {
        if (report.type === 'candidate-pair' && report.nominated && typeof report.currentRoundTripTime === 'number') {
          rtt = Math.max(rtt ?? 0, report.currentRoundTripTime as number);
        }
        if (report.type === 'inbound-rtp') {
          received += Number(report.packetsReceived ?? 0);
          lost += Math.max(0, Number(report.packetsLost ?? 0));
        }
      });
    }
    const previous = this.previousInbound;
    this.previousInbound = { received, lost };
    const dReceived = previous ? received - previous.received : 0;
    const dLost = previous ? lost - previous.lost : 0;
    const loss = dReceived + dLost > 0 ? dLost / (dReceived + dLost) : 0;
    const rttMs = rtt === null ? 0 : (rtt as number) * 1000;
    if (loss > 0.05 || rttMs > 400) return 'poor';
    if (loss > 0.01 || rttMs > 200) return 'fair';
    return 'good';
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.hub.off('SubscribeOffer', this.onOffer);
    this.publish?.close();
    this.subscribe.close();
    for (const tile of this.tiles.values()) {
      tile.video.srcObject = null;
      tile.root.remove();
    }
    this.tiles.clear();
    this.notifyTiles();
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.chain.then(task);
    this.chain = next.catch((error: unknown) => {
      if (!this.closed) this.options.onError?.(error instanceof Error ? error.message : String(error));
    });
    return next;
  }

  /** Answers a subscribe offer; an offer older than one already answered is skipped. */
  private async answer(sdp: string): Promise<void> {
    if (this.closed) return;
    const version = offerVersion(sdp);
    if (version !== null && version <= this.lastOfferVersion) return;
    // Nobody else publishes yet: an offer without media has no transport to answer; the next offer will.
    if (!/^m=/m.test(sdp)) return;
    await this.subscribe.setRemoteDescription({ type: 'offer', sdp });
    const answer = await this.subscribe.createAnswer();
    await this.subscribe.setLocalDescription(answer);
    if (version !== null) this.lastOfferVersion = version;
    await this.options.hub.invoke('SubscribeAnswer', this.subscribe.localDescription?.sdp ?? answer.sdp ?? '');
  }

  /**
   * Adds our tracks sendonly: audio as it is, video with simulcast layers for its capture size (simulcast.ts) when
   * {@link layered}. True when more than one video encoding was offered.
   */
  private addLocalTracks(pc: RTCPeerConnection, local: LocalMedia, layered: boolean): boolean {
    let offeredLayers = false;
    for (const track of local.stream.getTracks()) {
      const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: [local.stream] };
      if (track.kind !== 'video') {
        pc.addTransceiver(track, init);
        continue;
      }
      const { width = 0, height = 0 } = track.getSettings();
      const encodings = layered ? videoEncodings(width, height) : [singleEncoding(width, height)];
      try {
        pc.addTransceiver(track, { ...init, sendEncodings: encodings });
        offeredLayers = encodings.length > 1;
      } catch {
        // A browser that cannot send these encodings sends the track as it chooses.
        pc.addTransceiver(track, init);
      }
    }
    return offeredLayers;
  }

  private async negotiatePublish(pc: RTCPeerConnection): Promise<void> {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const answer = await this.options.hub.invoke<string>('Publish', pc.localDescription?.sdp ?? offer.sdp ?? '');
    if (this.closed) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  /**
   * An answer without simulcast leaves the browser only the first encoding (JSEP, RFC 9429 §5.3.1), which is the
   * quarter-size layer: turn it into the full picture at the full rate.
   */
  private async keepFullPictureWithoutLayers(local: LocalMedia): Promise<void> {
    const sender = this.publishConnection?.getSenders().find((s) => s.track?.kind === 'video');
    if (!sender || this.closed) return;
    const parameters = sender.getParameters();
    const [only] = parameters.encodings;
    if (parameters.encodings.length !== 1 || !only || only.scaleResolutionDownBy === 1) return;
    const { width = 0, height = 0 } = local.videoTrack?.getSettings() ?? {};
    const full = singleEncoding(width, height);
    only.scaleResolutionDownBy = full.scaleResolutionDownBy;
    only.maxBitrate = full.maxBitrate;
    await sender.setParameters(parameters);
  }

  private async replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack): Promise<void> {
    const sender = this.publish?.getSenders().find((s) => s.track?.kind === kind || (s.track === null && kind === 'video'));
    await sender?.replaceTrack(track);
  }

  private addTrack(event: RTCTrackEvent): void {
    const stream = event.streams[0];
    if (!stream) return;
    let tile = this.tiles.get(stream.id);
    if (!tile) {
      const video = el('video', { autoplay: true, playsinline: true });
      const label = el('figcaption', {}, this.options.nameOf(stream.id));
      const root = el('figure', { class: 'tile remote', 'data-participant': stream.id, hidden: true }, video, label);
      tile = { id: stream.id, stream, root, video, label };
      this.tiles.set(stream.id, tile);
      this.options.tiles.append(root);
      const current = tile;
      stream.addEventListener('removetrack', () => this.update(current));
      stream.addEventListener('addtrack', () => this.update(current));
    }
    if (tile.stream !== stream) tile.stream = stream;
    if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
    const current = tile;
    this.hidden.delete(current.id);
    event.track.addEventListener('unmute', () => {
      this.hidden.delete(current.id);
      this.update(current);
    });
    event.track.addEventListener('mute', () => this.update(current));
    event.track.addEventListener('ended', () => this.update(current));
    this.update(tile);
  }

  private update(tile: Tile): void {
    const flowing = tile.stream.getTracks().some((t) => t.readyState === 'live' && !t.muted);
    const visible = flowing && !this.hidden.has(tile.id);
    tile.root.hidden = !visible;
    if (visible) {
      tile.label.textContent = this.options.nameOf(tile.id);
      void tile.video.play().catch(() => undefined);
    }
    this.notifyTiles();
  }

  private notifyTiles(): void {
    const visible = [...this.tiles.values()].filter((t) => !t.root.hidden).length;
    if (visible !== this.lastVisible) {
      this.lastVisible = visible;
      this.options.onTilesChanged?.(visible);
    }
  }
}

function offerVersion(sdp: string): number | null {
  const match = /^o=\S+ \S+ (\d+)/m.exec(sdp);
  return match ? Number(match[1]) : null;
}
