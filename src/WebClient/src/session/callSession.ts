/**
 * What the therapist's session room and the patient's join page share of being in a call: the hub connection and the
 * session's events about the others (who joined or left, their microphone and camera, the end of the session), the
 * chat, the media connections (media/call.ts), started again after every join, the call view with its connection
 * indicator, Share screen and Chat, and the cleanup at the end. A page adds only its own: how it joins, what it does
 * with the waiting room, and its own controls.
 */
import type { HubConnection } from '@microsoft/signalr';
import { el } from '../dom';
import { Call } from '../media/call';
import type { LocalMedia } from '../media/localMedia';
import { ScreenShareControl } from '../media/screenShare';
import { qualityIndicator } from '../ui/callControls';
import { CallView, type PanelHandle } from '../ui/callView';
import { ChatPanel } from './chat';
import { createHub, toRtcIceServers, type JoinResult, type PeerInfo } from './contract';
import { PeerDirectory, reportMediaState } from './peers';

/** The page's own words for what can go wrong (each page speaks to its own reader). */
export interface CallSessionTexts {
  /** The hub connection closed for good. */
  connectionLost: string;
  /** The hub connection dropped and is being tried again; nothing is said when absent. */
  reconnecting?: string;
  /** A media connection had a problem after it was set up. */
  mediaProblem: string;
  /** The media connections could not be set up. */
  mediaFailed: string;
}

export interface CallSessionOptions {
  local: LocalMedia | null;
  /** What the stage says while nobody else's video shows. */
  emptyText: string;
  /** The name under a therapist's tile while the page has not learned it. */
  staffName: () => string;
  texts: CallSessionTexts;
  showNotice: (text: string) => void;
  /** The session ended for this page (SessionEnded; null or `ended` when a therapist ended it). */
  onEnded: (reason: string | null) => void;
  /** The hub connection came back: the page joins again (and calls {@link CallSession.startMedia}). */
  onReconnected: () => void;
}

export class CallSession {
  readonly view: CallView;
  readonly peers = new PeerDirectory();
  readonly screen: ScreenShareControl;
  private readonly chat: ChatPanel;
  private readonly qualitySlot = el('div', { class: 'quality-slot' });
  private connection: HubConnection | null = null;
  private call: Call | null = null;
  private selfId = '';
  private reporting = false;
  private closed = false;

  constructor(private readonly options: CallSessionOptions) {
    this.view = new CallView(options.local, options.emptyText);
    this.chat = new ChatPanel(() => this.selfId);
    this.screen = new ScreenShareControl(() => this.call, options.showNotice);
  }

  /** The hub connection of this page's current visit; null before {@link connect} and after {@link disconnect}. */
  get hub(): HubConnection | null {
    return this.connection;
  }

  /** This page's participant id in the session ('' before it joined). */
  get participantId(): string {
    return this.selfId;
  }

  /**
   * Adds the chat's panel after the page's own panels, and puts the shared controls in the bar: the connection
   * indicator, Share screen and Chat. The page's camera and microphone controls go in with {@link placeControls}.
   */
  addChat(): PanelHandle {
    const handle = this.view.addPanel(this.chat.element, 'Chat', false);
    this.chat.attach(handle);
    this.view.onPanelChange(() => this.chat.panelChanged());
    this.view.bar.append(this.qualitySlot, this.screen.button, handle.button);
    return handle;
  }

  /** Puts the page's Mute, Camera off and Devices in the bar, right after the connection indicator. */
  placeControls(...controls: HTMLElement[]): void {
    this.qualitySlot.after(...controls);
  }

  /**
   * A new hub connection (not started) with the session's shared events. Its handlers come before the page's join,
   * since events can arrive while the join runs; the page adds its own on the returned connection.
   */
  connect(): HubConnection {
    const hub = createHub();
    this.connection = hub;
    this.chat.use(hub);
    hub.on('PeerJoined', (peer: PeerInfo) => {
      this.peers.learn(peer);
      this.call?.refreshNames();
      this.call?.showParticipant(peer.participantId);
    });
    hub.on('PeerMediaChanged', (peer: PeerInfo) => {
      this.peers.learn(peer);
      this.call?.refreshNames();
      // About this page's own participant: a therapist allowed screen sharing, or took it back (therapists always may).
      if (peer.participantId === this.selfId) this.screen.setAllowed(!!peer.mayShareScreen);
    });
    hub.on('PeerLeft', (peer: PeerInfo) => this.call?.hideParticipant(peer.participantId));
    hub.on('SessionEnded', (reason: string | null) => this.options.onEnded(reason));
    const reconnecting = this.options.texts.reconnecting;
    if (reconnecting) hub.onreconnecting(() => this.options.showNotice(reconnecting));
    hub.onreconnected(() => this.options.onReconnected());
    hub.onclose(() => {
      // A connection the page stopped itself (a join that did not get in, to be tried again) is not a lost one.
      if (!this.closed && this.connection === hub) this.options.showNotice(this.options.texts.connectionLost);
    });
    return hub;
  }

  /** Stops the hub connection of a join that did not get in, so the page can try again with a new one. */
  async disconnect(): Promise<void> {
    const hub = this.connection;
    this.connection = null;
    await hub?.stop();
  }

  /** Remembers who this page is in the session and who is already there, from an accepted join. */
  accept(joined: JoinResult): void {
    this.selfId = joined.participantId ?? this.selfId;
    for (const peer of joined.peers ?? []) this.peers.learn(peer);
  }

  /**
   * Sets up the media connections for an accepted join, on a new call: after a reconnect the relay may be another
   * node, so nothing of the old connections is carried over (a screen share in progress included). Then tells the
   * session this page's microphone and camera state: from now on as it changes, or again after a reconnect (the room
   * may have forgotten what this page said).
   */
  async startMedia(joined: JoinResult): Promise<void> {
    const hub = this.connection;
    if (!hub) return;
    if (this.screen.isSharing) void this.screen.stop();
    this.call?.close();
    const call = new Call({
      hub,
      iceServers: toRtcIceServers(joined.iceServers),
      local: this.options.local,
      tiles: this.view.tiles,
      nameOf: (id) => this.peers.nameOf(id) ?? (id.startsWith('staff-') ? this.options.staffName() : 'Guest'),
      marksOf: (id) => this.peers.marksOf(id),
      onTilesChanged: (visible) => (this.view.empty.hidden = visible > 0),
      onError: () => this.options.showNotice(this.options.texts.mediaProblem),
    });
    this.call = call;
    this.qualitySlot.replaceChildren(qualityIndicator(call));
    try {
      await call.start();
    } catch {
      this.options.showNotice(this.options.texts.mediaFailed);
    }
    this.reportMedia(hub);
  }

  /** Names and marks of the tiles, after the page learned something new of the participants. */
  refreshNames(): void {
    this.call?.refreshNames();
  }

  /** Leaves the session (Leave); the page then closes, whether or not the hub heard it. */
  async leave(): Promise<void> {
    await this.connection?.invoke('Leave').catch(() => undefined);
  }

  /** The end of this page's call: media, chat, view, camera and microphone, and the hub connection. */
  close(): void {
    this.closed = true;
    void this.screen.stop();
    this.call?.close();
    this.chat.dispose();
    this.view.dispose();
    this.options.local?.stop();
    void this.connection?.stop();
  }

  private reportMedia(hub: HubConnection): void {
    const local = this.options.local;
    if (!this.reporting) {
      this.reporting = true;
      reportMediaState(hub, local);
    } else if (local) {
      void hub.invoke('SetMediaState', local.isMuted, local.isCameraOff).catch(() => undefined);
    }
  }
}
