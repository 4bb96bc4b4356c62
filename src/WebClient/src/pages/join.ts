import type { HubConnection } from '@microsoft/signalr';
import { api, type JoinLink } from '../api';
import { el } from '../dom';
import { formatCountdown, formatDay, formatTime } from '../format';
import { Call } from '../media/call';
import { runConnectionTest, type ConnectionTestResult } from '../media/connectionTest';
import { LocalMedia, mediaErrorText } from '../media/localMedia';
import {
  createHub,
  toRtcIceServers,
  type ConnectionCheckSummary,
  type JoinResult,
  type ParticipantState,
  type ParticipantStateNotice,
  type PeerInfo,
  type WaitingRoomMessage,
} from '../session/contract';
import { mediaControls, qualityIndicator, selfView } from '../ui/callControls';
import { pageShell, publicHeader } from '../ui/layout';

/** Kind words for a link or join that does not work. */
export function linkProblemText(reason: string | null): string {
  switch (reason) {
    case 'link-expired':
      return 'This link has expired. Join links work until a little after the appointment ends. If you still need to speak to your therapist, please contact the clinic.';
    case 'link-revoked':
      return 'This link no longer works because the appointment was moved. The clinic has emailed you a new link: please use the link in the newest email from the clinic.';
    case 'cancelled':
      return 'This appointment was cancelled. If that is unexpected, please contact the clinic.';
    case 'ended':
      return 'This session has ended. Thank you for joining.';
    case 'not-admitted':
      return 'The therapist could not let you in to this session. If you think this is a mistake, please contact the clinic.';
    case 'session-full':
      return 'This session is full, or the clinic server is at its limit. Please try again in a few minutes or contact the clinic.';
    case 'offline':
      return 'We could not reach the clinic. Please check your internet connection and try again.';
    case 'unavailable':
      return 'The clinic\'s system is briefly unavailable. Your link is fine: please try again in a few seconds.';
    default:
      return 'We could not find this link. Please check that you opened the whole link from the email, or contact the clinic.';
  }
}

/** What the patient's screen says in each state (README: The join rules). */
export const stateText: Record<ParticipantState, string> = {
  'waiting-for-therapist': 'Waiting for your therapist to start the session. Please keep this page open.',
  'waiting-to-be-admitted': 'Your therapist knows you are here and will let you in shortly.',
  admitted: 'You are in the session.',
  denied: 'The therapist could not let you in to this session. If you think this is a mistake, please contact the clinic.',
  'sent-back': 'You are back in the waiting room. Your therapist will let you in again.',
  'session-ended': 'The session has ended. Thank you.',
  left: 'You have left the session.',
};

/** The join page of an emailed or portal link: who and when, device check, waiting room, then the session. */
export async function renderJoin(root: HTMLElement, params: Record<string, string>): Promise<void> {
  document.title = 'Join your video session · Teletherapy';
  const main = pageShell(root, publicHeader());
  const token = params.token;
  main.replaceChildren(el('h1', {}, 'Your video session'), el('p', { role: 'status' }, 'Opening your link…'));
  const link = await api<JoinLink>('GET', `/api/v1/join/${encodeURIComponent(token)}`);
  if (!link.ok) {
    showLinkProblem(main, link.problem.reason);
    return;
  }
  new JoinPage(main, token, link.value).render();
}

function showLinkProblem(main: HTMLElement, reason: string | null): void {
  document.title = 'This link does not work · Teletherapy';
  main.replaceChildren(
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'problem-title' },
      el('h1', { id: 'problem-title' }, reason === 'ended' ? 'This session has ended' : reason === 'unavailable' ? 'Please try again in a moment' : 'This link does not work'),
      el('p', { role: 'alert', class: 'link-problem', 'data-reason': reason ?? '' }, linkProblemText(reason)),
    ),
  );
}

class JoinPage {
  private local: LocalMedia | null = null;
  private preview: Promise<void> = Promise.resolve();
  private hub: HubConnection | null = null;
  private call: Call | null = null;
  private lastCheck: ConnectionCheckSummary | null = null;
  private state: ParticipantState | null = null;
  private therapistName: string | null = null;
  private readonly names = new Map<string, string>();
  private countdownTimer = 0;
  private finished = false;

  private readonly title = el('h1', {}, 'Your video session');
  private readonly status = el('p', { role: 'status', id: 'join-status', class: 'join-status' });
  private readonly joinButton = el('button', { type: 'button', class: 'primary big' }, 'Join the session');
  private readonly openStatus = el('p', { id: 'open-status', class: 'open-status' });
  private readonly mediaSlot = el('div', { class: 'media-slot' });
  private readonly controlsSlot = el('div');
  private readonly messages = el('ul', { class: 'messages', 'aria-live': 'polite', 'aria-labelledby': 'messages-title' });
  private readonly messagesBox = el('section', { class: 'card messages-box', 'aria-labelledby': 'messages-title', hidden: true }, el('h2', { id: 'messages-title' }, 'Messages from your therapist'), this.messages);
  private readonly tiles = el('div', { class: 'tiles', 'aria-label': 'Video' });
  private readonly stage = el('section', { class: 'stage', 'aria-label': 'Session', hidden: true });
  private readonly qualitySlot = el('div', { class: 'quality-slot' });
  private readonly leaveButton = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Leave');
  private readonly notice = el('p', { class: 'notice', role: 'alert', hidden: true });
  private readonly checkTitle = el('h2', { id: 'check-title' }, 'Check your camera and microphone');
  private readonly checkHint = el('p', { class: 'muted' }, 'You should see yourself below. Nobody else sees or hears you until your therapist lets you in.');

  constructor(
    private readonly main: HTMLElement,
    private readonly token: string,
    private readonly link: JoinLink,
  ) {}

  /** Where this tab keeps its device key for this appointment (sessionStorage: another tab is another device). */
  private get deviceKeyName(): string {
    return `teletherapy.device.${this.link.appointmentId}`;
  }

  render(): void {
    const whenText = `${formatDay(this.link.start)} at ${formatTime(this.link.start)}`;
    const testButton = el('button', { type: 'button', class: 'secondary' }, 'Test my connection');
    const testStatus = el('p', { role: 'status', id: 'check-status', class: 'muted' });
    testButton.addEventListener('click', () => void this.runTest(testButton, testStatus));
    this.joinButton.addEventListener('click', () => void this.join());
    this.leaveButton.addEventListener('click', () => void this.leave());

    const check = el(
      'section',
      { class: 'card device-check', 'aria-labelledby': 'check-title' },
      this.checkTitle,
      this.checkHint,
      this.mediaSlot,
      this.controlsSlot,
      el('p', {}, testButton),
      testStatus,
    );
    this.stage.append(this.tiles, el('div', { class: 'call-actions' }, this.qualitySlot));
    this.main.replaceChildren(
      this.title,
      el('p', { class: 'lead' }, `Hello ${this.link.contactName}. Your video session with the clinic is on ${whenText}.`),
      this.status,
      this.notice,
      this.stage,
      el('div', { class: 'join-actions' }, this.joinButton, this.leaveButton),
      this.openStatus,
      this.messagesBox,
      check,
    );
    this.status.textContent = 'When you are ready, press Join the session. Your therapist will let you in.';
    this.setOpen(this.link.status === 'open', this.link.opensAt);
    this.preview = this.startPreview();
  }

  /** Before the room opens: a live countdown; at zero the link is asked again, so joining works without a reload. */
  private setOpen(open: boolean, opensAt: string): void {
    window.clearInterval(this.countdownTimer);
    this.joinButton.disabled = !open;
    if (open) {
      this.openStatus.textContent = 'The waiting room is open.';
      return;
    }
    this.joinButton.setAttribute('aria-describedby', 'open-status');
    const target = Date.parse(opensAt);
    const update = (): void => {
      const seconds = (target - Date.now()) / 1000;
      this.openStatus.textContent = seconds > 0
        ? `The waiting room opens at ${formatTime(opensAt)}, in ${formatCountdown(seconds)}.`
        : 'The waiting room is opening…';
      if (seconds <= 0) {
        window.clearInterval(this.countdownTimer);
        void this.recheck();
      }
    };
    update();
    this.countdownTimer = window.setInterval(update, 1000);
  }

  private async recheck(): Promise<void> {
    const again = await api<JoinLink>('GET', `/api/v1/join/${encodeURIComponent(this.token)}`);
    if (!again.ok) {
      showLinkProblem(this.main, again.problem.reason);
      return;
    }
    if (again.value.status === 'open') {
      this.setOpen(true, again.value.opensAt);
      this.status.textContent = 'The waiting room is open. You can join now.';
    } else {
      window.setTimeout(() => void this.recheck(), 5000);
    }
  }

  private async startPreview(): Promise<void> {
    this.mediaSlot.replaceChildren(el('p', { class: 'muted' }, 'Starting your camera and microphone…'));
    try {
      this.local = await LocalMedia.open();
      this.mediaSlot.replaceChildren(selfView(this.local));
      this.controlsSlot.replaceChildren(mediaControls(this.local, (m) => this.showNotice(m)));
    } catch (error) {
      this.mediaSlot.replaceChildren(el('p', { class: 'notice' }, mediaErrorText(error)));
    }
  }

  private async runTest(button: HTMLButtonElement, status: HTMLElement): Promise<void> {
    button.disabled = true;
    status.textContent = 'Starting the test…';
    const result = await runConnectionTest({ stream: this.local?.stream, joinToken: this.token, onProgress: (m) => (status.textContent = m) });
    status.textContent = result.summary;
    status.dataset.verdict = result.verdict;
    button.disabled = false;
    this.lastCheck = summaryOf(result);
    await this.reportCheck();
  }

  private async reportCheck(): Promise<void> {
    if (!this.hub || !this.lastCheck || !this.state || this.finished) return;
    await this.hub.invoke('ReportConnectionCheck', this.lastCheck).catch(() => undefined);
  }

  private async join(): Promise<void> {
    this.joinButton.disabled = true;
    this.status.textContent = 'Connecting…';
    // The camera and microphone the patient just checked are what the session sends.
    await this.preview;
    const hub = createHub();
    this.hub = hub;
    hub.on('StateChanged', (notice: ParticipantStateNotice) => this.onState(notice));
    hub.on('WaitingRoomMessage', (message: WaitingRoomMessage) => this.onMessage(message));
    hub.on('PeerJoined', (peer: PeerInfo) => {
      this.names.set(peer.participantId, peer.name);
      this.call?.refreshNames();
      this.call?.showParticipant(peer.participantId);
    });
    hub.on('PeerLeft', (peer: PeerInfo) => this.call?.hideParticipant(peer.participantId));
    hub.on('SessionEnded', (reason: string | null) => this.sessionOver(reason));
    hub.onreconnecting(() => this.showNotice('Your connection dropped. Reconnecting… you keep your place.'));
    hub.onreconnected(() => void this.enter(true));
    hub.onclose(() => {
      if (!this.finished) this.showNotice('The connection to the clinic was lost. Reload this page to come back; you keep your place.');
    });
    try {
      await hub.start();
    } catch {
      this.status.textContent = linkProblemText('offline');
      this.joinButton.disabled = false;
      return;
    }
    await this.enter(false);
  }

  private async enter(again: boolean): Promise<void> {
    const hub = this.hub;
    if (!hub) return;
    let joined: JoinResult;
    try {
      // The device's key (per tab, kept across reloads) brings this device back to its place without knocking.
      const key = sessionStorage.getItem(this.deviceKeyName);
      joined = key ? await hub.invoke<JoinResult>('JoinWithTokenOnDevice', this.token, key) : await hub.invoke<JoinResult>('JoinWithToken', this.token);
    } catch {
      this.status.textContent = linkProblemText('offline');
      this.joinButton.disabled = false;
      return;
    }
    if (!joined.accepted) {
      if (joined.reason === 'too-early' && joined.opensAt) {
        await hub.stop();
        this.hub = null;
        this.status.textContent = 'The waiting room is not open yet.';
        this.setOpen(false, joined.opensAt);
        return;
      }
      if (joined.reason === 'unavailable') {
        // A database outage: the link is good, the join can simply be tried again.
        await hub.stop();
        this.hub = null;
        this.status.textContent = linkProblemText(joined.reason);
        this.joinButton.disabled = false;
        return;
      }
      this.finish(joined.reason === 'not-admitted' ? 'denied' : null, linkProblemText(joined.reason));
      return;
    }
    if (joined.deviceKey) sessionStorage.setItem(this.deviceKeyName, joined.deviceKey);
    this.notice.hidden = true;
    for (const peer of joined.peers ?? []) this.names.set(peer.participantId, peer.name);
    this.joinButton.hidden = true;
    this.leaveButton.hidden = false;
    this.openStatus.hidden = true;
    this.title.textContent = 'Waiting room';
    this.onState({ state: joined.state ?? 'waiting-for-therapist', message: null, byName: null });
    await this.startMedia(joined, again);
    await this.reportCheck();
  }

  private async startMedia(joined: JoinResult, again: boolean): Promise<void> {
    if (this.call && !again) return;
    this.call?.close();
    const call = new Call({
      hub: this.hub!,
      iceServers: toRtcIceServers(joined.iceServers),
      local: this.local,
      tiles: this.tiles,
      nameOf: (id) => this.names.get(id) ?? (id.startsWith('staff-') ? this.therapistName ?? 'Your therapist' : 'Guest'),
      onError: () => this.showNotice('The video connection had a problem. If the picture stops, reload this page.'),
    });
    this.call = call;
    this.qualitySlot.replaceChildren(qualityIndicator(call));
    try {
      await call.start();
    } catch {
      this.showNotice('The video connection could not be set up. Reload this page to try again.');
    }
  }

  private onState(notice: ParticipantStateNotice): void {
    if (this.finished) return;
    if (notice.byName && notice.state === 'admitted') this.therapistName = notice.byName;
    this.state = notice.state;
    this.main.dataset.state = notice.state;
    if (notice.state === 'session-ended') {
      this.sessionOver(notice.reason);
      return;
    }
    if (notice.state === 'denied' || notice.state === 'left') {
      this.finish(notice.state);
      return;
    }
    const admitted = notice.state === 'admitted';
    this.status.textContent = stateText[notice.state];
    this.title.textContent = admitted ? 'Your video session' : 'Waiting room';
    this.stage.hidden = !admitted;
    this.messagesBox.hidden = admitted || this.messages.childElementCount === 0;
    this.checkTitle.textContent = admitted ? 'Your camera and microphone' : 'Check your camera and microphone';
    this.checkHint.hidden = admitted;
    if (admitted) this.call?.refreshNames();
  }

  private onMessage(message: WaitingRoomMessage): void {
    this.messages.append(el('li', {}, el('span', { class: 'muted' }, `${formatTime(message.sentAt)} · ${message.fromName}: `), message.text));
    if (this.state !== 'admitted') this.messagesBox.hidden = false;
  }

  private async leave(): Promise<void> {
    this.leaveButton.disabled = true;
    await this.hub?.invoke('Leave').catch(() => undefined);
    this.finish('left');
  }

  /**
   * The session is over for this visit: ended by the therapist, or the appointment was cancelled or moved while the
   * patient was here; then the page says what opening this link now would say (cancelled, link-revoked).
   */
  private sessionOver(reason: string | null | undefined): void {
    if (this.finished) return;
    if (!reason || reason === 'ended') {
      this.finish('session-ended');
      return;
    }
    this.finish(null);
    showLinkProblem(this.main, reason);
  }

  /** The end of this visit: denied, ended, left, or a refused join. Closes media and the hub. */
  private finish(state: ParticipantState | null, text?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.state = state;
    if (state) this.main.dataset.state = state;
    window.clearInterval(this.countdownTimer);
    this.call?.close();
    this.local?.stop();
    void this.hub?.stop();
    const body = text ?? (state ? stateText[state] : linkProblemText(null));
    const titles: Partial<Record<ParticipantState, string>> = {
      denied: 'You were not let in',
      'session-ended': 'The session has ended',
      left: 'You have left the session',
    };
    this.title.textContent = (state && titles[state]) ?? 'This link does not work';
    const extra = state === 'left'
      ? [el('p', { class: 'muted' }, 'You can come back with the same link until the session ends.'), el('p', {}, el('a', { href: window.location.pathname }, 'Join the session again'))]
      : [];
    this.status.textContent = body;
    this.main.replaceChildren(this.title, this.status, ...extra);
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }
}

function summaryOf(result: ConnectionTestResult): ConnectionCheckSummary {
  return {
    verdict: result.verdict,
    videoReturned: result.videoReturned,
    audioReturned: result.audioReturned,
    roundTripMs: result.roundTripMs,
    lossPercent: result.lossPercent,
    bitrateKbps: result.bitrateKbps,
  };
}
