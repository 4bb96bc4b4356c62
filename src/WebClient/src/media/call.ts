/**
 * The media of one participant in a session: a publish connection (our camera and microphone, sendonly) and a
 * subscribe connection (everyone else, offered by the relay). Both are negotiated while waiting, so admission is
 * instant: the relay only opens its gate. Remote tracks are grouped by stream id into tiles (ui/remoteTile.ts): the
 * relay names a participant's camera and microphone stream by the participant id, and any further stream of theirs
 * (a shared screen) by the participant id, `~` and a number. A tile shows once media flows, which the relay allows
 * only in session. Who speaks is worked out from the received audio (activeSpeaker.ts) and marked on their tile.
 * Video is published in simulcast layers (simulcast.ts), so the relay can give each participant the layer their
 * connection carries; if the relay or the browser refuses the layers, one full-size encoding is sent instead. Each
 * remote tile's size is reported to the relay (videoSizes.ts), which then forwards no larger layer than the tile shows.
 */
import type { HubConnection } from '@microsoft/signalr';
import { RemoteTile, type PeerMarks } from '../ui/remoteTile';
import { ActiveSpeaker } from './activeSpeaker';
import type { LocalMedia } from './localMedia';
import { singleEncoding, videoEncodings } from './simulcast';
import { VideoSizes } from './videoSizes';

export type Quality = 'good' | 'fair' | 'poor' | 'connecting';

export interface CallOptions {
  hub: HubConnection;
  iceServers: RTCIceServer[];
  local: LocalMedia | null;
  /** Where the remote tiles go. */
  tiles: HTMLElement;
  /** The name shown under a remote participant's tile. */
  nameOf: (participantId: string) => string;
  /** What a remote participant's page reported of their microphone and camera, for the marks on their tile. */
  marksOf?: (participantId: string) => PeerMarks | null;
  /** Called when the number of visible remote tiles changes. */
  onTilesChanged?: (visible: number) => void;
  onError?: (message: string) => void;
}

interface Tile {
  view: RemoteTile;
  stream: MediaStream;
}

/** The participant a stream the relay sends belongs to: its id up to `~` (further streams of the same participant). */
export function participantOfStream(streamId: string): string {
  const tilde = streamId.indexOf('~');
  return tilde < 0 ? streamId : streamId.slice(0, tilde);
}

declare global {
  interface Window {
    __teletherapy?: { publish: RTCPeerConnection | null; subscribe: RTCPeerConnection };
  }
}

export class Call {
  private subscribeConnection: RTCPeerConnection;
  private publishConnection: RTCPeerConnection | null;
  /** Whether the publish connection offers simulcast layers (false after the relay or the browser refused them). */
  private publishLayered = true;
  private readonly config: RTCConfiguration;
  private readonly tiles = new Map<string, Tile>();
  private readonly hidden = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private lastOfferVersion = -1;
  private closed = false;
  private lastVisible = -1;
  private previousInbound: { received: number; lost: number } | null = null;
  private readonly speaker: ActiveSpeaker;
  private readonly videoSizes: VideoSizes;
  private screenTransceiver: RTCRtpTransceiver | null = null;
  private publishChain: Promise<void> = Promise.resolve();
  private readonly onOffer = (sdp: string): void => {
    void this.enqueue(() => this.answer(sdp));
  };

  constructor(private readonly options: CallOptions) {
    const config: RTCConfiguration = { iceServers: options.iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    this.config = config;
    this.subscribeConnection = this.newSubscribeConnection();
    this.publishConnection = options.local ? this.newPublishConnection() : null;
    this.videoSizes = new VideoSizes((streamId, width, height) => options.hub.invoke('SetVideoSize', streamId, width, height));
    this.speaker = new ActiveSpeaker(() => this.subscribe, (trackId) => this.participantOfTrack(trackId), (id) => this.markSpeaker(id));
    options.hub.on('SubscribeOffer', this.onOffer);
    options.local?.onTrackChanged((kind, track) => void this.replaceTrack(kind, track));
    this.expose();
  }

  /** The connection that receives everyone else (replaced when it fails or the relay offers a new one). */
  get subscribe(): RTCPeerConnection {
    return this.subscribeConnection;
  }

  /** The connection that sends our camera and microphone; null without local media. */
  get publish(): RTCPeerConnection | null {
    return this.publishConnection;
  }

  /** Negotiates the subscribe connection, then the publish connection. */
  async start(): Promise<void> {
    this.speaker.start();
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
      this.publishLayered = false;
      const single = this.newPublishConnection();
      this.publishConnection = single;
      this.expose();
      this.addLocalTracks(single, local, false);
      await this.negotiatePublish(single);
    }
    // Only the picture's size is at stake here, not the call: a browser that refuses keeps sending what it sends.
    if (layered) await this.keepFullPictureWithoutLayers(local).catch(() => undefined);
  }

  private expose(): void {
    window.__teletherapy = { publish: this.publishConnection, subscribe: this.subscribeConnection };
  }

  /**
   * A receive connection; when it fails, it is replaced at once: the relay is asked to close its end and offer on a new
   * connection (a new ICE ufrag), answered on a new RTCPeerConnection (see README, lost connections).
   */
  private newSubscribeConnection(): RTCPeerConnection {
    const pc = new RTCPeerConnection(this.config);
    pc.ontrack = (event) => this.addTrack(event);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState !== 'failed' || pc !== this.subscribeConnection || this.closed) return;
      void this.enqueue(async () => {
        if (pc !== this.subscribeConnection || this.closed) return;
        this.replaceSubscribeConnection();
        const offer = await this.options.hub.invoke<string>('RequestNewSubscribeConnection');
        await this.answer(offer);
      });
    });
    return pc;
  }

  private replaceSubscribeConnection(): void {
    this.subscribeConnection.close();
    this.subscribeConnection = this.newSubscribeConnection();
    this.expose();
    // The old connection's tracks are over: tiles show again when the new one brings their media.
    for (const tile of this.tiles.values()) this.update(tile);
  }

  /**
   * A publish connection; when it fails (the relay stopped answering, or closed it for lost consent), our tracks are
   * published again on a new one: a new ICE ufrag, which the relay takes for a new connection, and a new DTLS
   * association. A shared screen goes on with it.
   */
  private newPublishConnection(): RTCPeerConnection {
    const pc = new RTCPeerConnection(this.config);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState !== 'failed' || pc !== this.publishConnection || this.closed) return;
      void this.onPublish(async (current) => {
        const local = this.options.local;
        if (current !== pc || !local) return;
        const screen = this.screenTransceiver;
        const sharing = screen && screen.currentDirection !== 'stopped' && screen.direction === 'sendonly' ? screen.sender.track : null;
        pc.close();
        const fresh = this.newPublishConnection();
        this.publishConnection = fresh;
        this.screenTransceiver = null;
        this.expose();
        this.addLocalTracks(fresh, local, this.publishLayered);
        if (sharing) this.screenTransceiver = fresh.addTransceiver(sharing, { direction: 'sendonly', streams: [new MediaStream([sharing])] });
        await this.negotiatePublish(fresh);
      }).catch((error: unknown) => {
        if (!this.closed) this.options.onError?.(error instanceof Error ? error.message : String(error));
      });
    });
    return pc;
  }

  /** Shows a participant's tiles again once their media flows; hides them now (they left or were sent back). */
  hideParticipant(participantId: string): void {
    this.hidden.add(participantId);
    for (const tile of this.tilesOf(participantId)) this.update(tile);
  }

  showParticipant(participantId: string): void {
    this.hidden.delete(participantId);
    for (const tile of this.tilesOf(participantId)) this.update(tile);
  }

  /** Names and marks of every tile, after the page learned something new of the participants. */
  refreshNames(): void {
    for (const tile of this.tiles.values()) this.describe(tile);
  }

  /**
   * Sends a shared screen as a second video track of the publish connection, in a stream of its own: the relay keeps
   * the streams of a publisher apart (the others get it as `participant~mid`) and shows it to everyone in the session.
   * The same connection is offered again (no ICE restart), so camera and microphone go on undisturbed. A refusal
   * (the relay allows a second video track only to those who may share) leaves the connection as it was.
   */
  shareScreen(track: MediaStreamTrack): Promise<void> {
    return this.onPublish(async (pc) => {
      const stream = new MediaStream([track]);
      // MDN, MediaStreamTrack.contentHint: "detail" keeps text sharp rather than motion smooth.
      track.contentHint = 'detail';
      let transceiver = this.screenTransceiver;
      if (transceiver && transceiver.currentDirection !== 'stopped') {
        await transceiver.sender.replaceTrack(track);
        transceiver.sender.setStreams(stream);
        transceiver.direction = 'sendonly';
      } else {
        transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        this.screenTransceiver = transceiver;
      }
      try {
        await this.negotiatePublish(pc);
      } catch (error) {
        if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
        transceiver.direction = 'inactive';
        await transceiver.sender.replaceTrack(null);
        throw error;
      }
    });
  }

  /** Stops sending the shared screen: its m-line becomes inactive (kept for the next share), the relay closes its track. */
  stopScreen(): Promise<void> {
    return this.onPublish(async (pc) => {
      const transceiver = this.screenTransceiver;
      if (!transceiver || transceiver.currentDirection === 'stopped' || transceiver.direction === 'inactive') return;
      transceiver.direction = 'inactive';
      await transceiver.sender.replaceTrack(null);
      await this.negotiatePublish(pc);
    });
  }

  /** Publish renegotiations one at a time (an offer must be answered before the next: JSEP, RFC 9429 §4.1.8). */
  private onPublish(task: (pc: RTCPeerConnection) => Promise<void>): Promise<void> {
    const run = this.publishChain.then(async () => {
      const pc = this.publishConnection;
      if (!pc || this.closed) throw new Error('There is no camera connection to share on.');
      await task(pc);
    });
    this.publishChain = run.catch(() => undefined);
    return run;
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
    this.speaker.stop();
    this.videoSizes.disconnect();
    this.options.hub.off('SubscribeOffer', this.onOffer);
    this.publish?.close();
    this.subscribe.close();
    for (const tile of this.tiles.values()) {
      tile.view.video.srcObject = null;
      tile.view.root.remove();
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

  /**
   * Answers a subscribe offer; an offer older than one already answered is skipped. An offer with another ICE ufrag
   * than the connection has is a new connection from the relay (it closed the old one): it is answered on a new one.
   */
  private async answer(sdp: string): Promise<void> {
    if (this.closed) return;
    const version = offerVersion(sdp);
    if (version !== null && version <= this.lastOfferVersion) return;
    // Nobody else publishes yet: an offer without media has no transport to answer; the next offer will.
    if (!/^m=/m.test(sdp)) return;
    const current = this.subscribe.remoteDescription?.sdp;
    if (current && iceUfrag(current) !== iceUfrag(sdp)) this.replaceSubscribeConnection();
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
    const sender = this.publishConnection?.getSenders().find((s) => s.track?.kind === 'video' && s !== this.screenTransceiver?.sender);
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
    const screen = this.screenTransceiver?.sender;
    const sender = this.publish?.getSenders().find((s) => s !== screen && (s.track?.kind === kind || (s.track === null && kind === 'video')));
    await sender?.replaceTrack(track);
  }

  private addTrack(event: RTCTrackEvent): void {
    const stream = event.streams[0];
    if (!stream) return;
    let tile = this.tiles.get(stream.id);
    if (!tile) {
      const view = new RemoteTile(participantOfStream(stream.id), stream.id.includes('~') ? 'screen' : 'camera', stream.id);
      tile = { view, stream };
      this.tiles.set(stream.id, tile);
      this.options.tiles.append(view.root);
      this.videoSizes.watch(stream.id, view.video);
      const current = tile;
      stream.addEventListener('removetrack', () => this.update(current));
      stream.addEventListener('addtrack', () => this.update(current));
    }
    if (tile.stream !== stream) tile.stream = stream;
    if (tile.view.video.srcObject !== stream) tile.view.video.srcObject = stream;
    const current = tile;
    this.hidden.delete(current.view.participantId);
    event.track.addEventListener('unmute', () => {
      this.hidden.delete(current.view.participantId);
      this.update(current);
    });
    event.track.addEventListener('mute', () => this.update(current));
    event.track.addEventListener('ended', () => this.update(current));
    this.update(tile);
  }

  private tilesOf(participantId: string): Tile[] {
    return [...this.tiles.values()].filter((t) => t.view.participantId === participantId);
  }

  private participantOfTrack(trackId: string): string | null {
    for (const tile of this.tiles.values()) {
      if (tile.view.kind === 'camera' && tile.stream.getTracks().some((t) => t.id === trackId)) return tile.view.participantId;
    }
    return null;
  }

  private markSpeaker(participantId: string | null): void {
    for (const tile of this.tiles.values()) tile.view.setSpeaking(tile.view.kind === 'camera' && tile.view.participantId === participantId);
  }

  private describe(tile: Tile): void {
    const id = tile.view.participantId;
    tile.view.setName(this.options.nameOf(id));
    tile.view.setMarks(this.options.marksOf?.(id) ?? null);
  }

  private update(tile: Tile): void {
    // A screen tile shows while its video flows; a camera tile while any of its tracks does (audio only included).
    const tracks = tile.view.kind === 'screen' ? tile.stream.getVideoTracks() : tile.stream.getTracks();
    const flowing = tracks.some((t) => t.readyState === 'live' && !t.muted);
    const visible = flowing && !this.hidden.has(tile.view.participantId);
    tile.view.root.hidden = !visible;
    if (visible) {
      this.describe(tile);
      void tile.view.video.play().catch(() => undefined);
    }
    this.notifyTiles();
  }

  private notifyTiles(): void {
    const visible = [...this.tiles.values()].filter((t) => !t.view.root.hidden).length;
    if (visible !== this.lastVisible) {
      this.lastVisible = visible;
      this.options.onTilesChanged?.(visible);
    }
  }
}

function iceUfrag(sdp: string): string | null {
  const match = /^a=ice-ufrag:(\S+)/m.exec(sdp);
  return match ? match[1] : null;
}

function offerVersion(sdp: string): number | null {
  const match = /^o=\S+ \S+ (\d+)/m.exec(sdp);
  return match ? Number(match[1]) : null;
}
