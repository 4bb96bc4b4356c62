/** The wire contract of the session hub (/hubs/session), as SessionContracts.cs defines it (camelCase JSON). */
import { HubConnectionBuilder, LogLevel, type HubConnection, type ILogger } from '@microsoft/signalr';

export type ParticipantState =
  | 'waiting-for-therapist'
  | 'waiting-to-be-admitted'
  | 'admitted'
  | 'denied'
  | 'sent-back'
  | 'session-ended'
  | 'left';

export interface ConnectionCheckSummary {
  verdict: string;
  videoReturned: boolean;
  audioReturned: boolean;
  roundTripMs: number | null;
  lossPercent: number | null;
  bitrateKbps: number | null;
}

export interface WaitingParticipant {
  participantId: string;
  name: string;
  role: string;
  waitingSince: string;
  connected: boolean;
  connectionCheck: ConnectionCheckSummary | null;
  /** Another device of someone whose own device is in the room: the link may have been passed on. */
  secondDevice: boolean;
}

export interface PeerInfo {
  participantId: string;
  name: string;
  role: string;
  connected: boolean;
  /** What the participant's own page reported (SetMediaState); false until then. */
  microphoneOff?: boolean;
  cameraOff?: boolean;
  /** Therapists always; a patient or caregiver while a therapist allows it (AllowScreenShare). */
  mayShareScreen?: boolean;
}

export interface WaitingRoomSnapshot {
  appointmentId: string;
  waiting: WaitingParticipant[];
  inSession: PeerInfo[];
}

export interface ParticipantStateNotice {
  state: ParticipantState;
  message: string | null;
  byName: string | null;
  /** On session-ended when a change to the appointment sent this participant away: cancelled, link-revoked, too-early… */
  reason?: string | null;
  /** On admitted: who is already in the session. */
  peers?: PeerInfo[] | null;
}

export interface WaitingRoomMessage {
  text: string;
  fromName: string;
  sentAt: string;
}

/** A chat message in the session (SendChatMessage → ChatMessage); numbered by the server from 1. */
export interface ChatMessage {
  sequence: number;
  fromParticipantId: string;
  fromName: string;
  fromRole: string;
  text: string;
  sentAt: string;
}

export interface IceServerInfo {
  urls: string[];
  username: string | null;
  credential: string | null;
}

export interface JoinResult {
  accepted: boolean;
  reason: string | null;
  appointmentId: string | null;
  participantId: string | null;
  name: string | null;
  role: string | null;
  state: ParticipantState | null;
  opensAt: string | null;
  waitingRoom: WaitingRoomSnapshot | null;
  peers: PeerInfo[] | null;
  iceServers: IceServerInfo[] | null;
  /** The key of this device's place (contacts): kept for the tab's life, it brings a reload straight back. */
  deviceKey: string | null;
}

/**
 * The hub's methods the pages call (`hub.invoke(name, ...arguments)`), with their arguments and what they answer
 * (SessionHub.cs). A test compares them with the hub, and every `invoke`/`on` of the pages with these two lists.
 */
export interface SessionHubMethods {
  JoinAsTherapist(appointmentId: string): JoinResult;
  JoinWithToken(token: string): JoinResult;
  JoinWithTokenOnDevice(token: string, deviceKey: string): JoinResult;
  Admit(participantId: string): boolean;
  AdmitAll(): boolean;
  Deny(participantId: string): boolean;
  SendToWaitingRoom(participantId: string): boolean;
  MessageWaitingRoom(text: string): boolean;
  AllowScreenShare(participantId: string, allowed: boolean): boolean;
  ReportConnectionCheck(summary: ConnectionCheckSummary): void;
  SetMediaState(microphoneOff: boolean, cameraOff: boolean): void;
  SendChatMessage(text: string): boolean;
  Publish(offerSdp: string): string;
  RequestSubscribeOffer(): string;
  RequestNewSubscribeConnection(): string;
  SubscribeAnswer(answerSdp: string): void;
  SetVideoSize(streamId: string, width: number, height: number): boolean;
  Leave(): void;
  EndSession(): boolean;
}

/** The server's events (`hub.on(name, handler)`), as ISessionClient in SessionContracts.cs declares them. */
export interface SessionClientEvents {
  WaitingRoomChanged(snapshot: WaitingRoomSnapshot): void;
  Knock(participant: WaitingParticipant): void;
  StateChanged(notice: ParticipantStateNotice): void;
  WaitingRoomMessage(message: WaitingRoomMessage): void;
  PeerJoined(peer: PeerInfo): void;
  PeerLeft(peer: PeerInfo): void;
  PeerMediaChanged(peer: PeerInfo): void;
  ChatMessage(message: ChatMessage): void;
  SubscribeOffer(sdp: string): void;
  SessionEnded(reason: string): void;
}

/** Signalr's own messages go to the console as warnings at most: a dropped connection is handled, not an error. */
const quietLogger: ILogger = {
  log(level: LogLevel, message: string): void {
    if (level >= LogLevel.Warning) console.warn(`[session] ${message}`);
  },
};

export function createHub(): HubConnection {
  return new HubConnectionBuilder()
    .withUrl('/hubs/session')
    .withAutomaticReconnect([0, 1000, 2000, 5000, 10000, 10000, 10000])
    .configureLogging(quietLogger)
    .build();
}

export function toRtcIceServers(servers: IceServerInfo[] | null): RTCIceServer[] {
  return (servers ?? []).map((s) => ({ urls: s.urls, username: s.username ?? undefined, credential: s.credential ?? undefined }));
}

export function roleLabel(role: string): string {
  switch (role) {
    case 'patient':
      return 'Patient';
    case 'caregiver':
      return 'Caregiver';
    case 'therapist':
      return 'Therapist';
    default:
      return role;
  }
}
