import { api, type JoinLink } from '../api';
import { el } from '../dom';
import { formatCountdown, formatTime } from '../format';
import { runConnectionTest, type ConnectionTestResult } from '../media/connectionTest';
import { LocalMedia, mediaErrorText } from '../media/localMedia';
import { CallSession } from '../session/callSession';
import {
  type ConnectionCheckSummary,
  type JoinResult,
  type ParticipantState,
  type ParticipantStateNotice,
  type WaitingRoomMessage,
} from '../session/contract';
import { devicesMenu, mediaControlParts, noMedia, selfView, type MediaControlParts } from '../ui/callControls';
import { clinicDay, clinicTime } from '../timeZones';
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
  /** The call: made on the first Join (with the camera and microphone of the device check), kept for every join after. */
  private session: CallSession | null = null;
  private lastCheck: ConnectionCheckSummary | null = null;
  private state: ParticipantState | null = null;
  private therapistName: string | null = null;
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
  private controls: MediaControlParts | null = null;
  private readonly lead = el('p', { class: 'lead' });
  private readonly joinActions = el('div', { class: 'join-actions' });
  private readonly checkCard = el('section', { class: 'card device-check', 'aria-labelledby': 'check-title' });
  private readonly devices = devicesMenu(el('div'));
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
    const whenText = `${clinicDay(this.link.start, this.link.timeZone)} at ${clinicTime(this.link.start, this.link.timeZone)}`;
    const testButton = el('button', { type: 'button', class: 'secondary' }, 'Test my connection');
    const testStatus = el('p', { role: 'status', id: 'check-status', class: 'muted' });
    testButton.addEventListener('click', () => void this.runTest(testButton, testStatus));
    this.joinButton.addEventListener('click', () => void this.join());
    this.leaveButton.addEventListener('click', () => void this.leave());

    this.checkCard.append(this.checkTitle, this.checkHint, this.mediaSlot, this.controlsSlot, el('p', {}, testButton), testStatus);
    this.lead.textContent = `Hello ${this.link.contactName}. Your video session with the clinic is on ${whenText}.`;
    this.joinActions.append(this.joinButton, this.leaveButton);
    this.main.replaceChildren(
      this.title,
      this.lead,
      this.status,
      this.notice,
      this.joinActions,
      this.openStatus,
      this.messagesBox,
      this.checkCard,
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
        ? `The waiting room opens at ${clinicTime(opensAt, this.link.timeZone)}, in ${formatCountdown(seconds)}.`
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
      this.controls = mediaControlParts(this.local, (m) => this.showNotice(m));
      this.placeControls(false);
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
    const hub = this.session?.hub;
    if (!hub || !this.lastCheck || !this.state || this.finished) return;
    await hub.invoke('ReportConnectionCheck', this.lastCheck).catch(() => undefined);
  }

  private async join(): Promise<void> {
    this.joinButton.disabled = true;
    this.status.textContent = 'Connecting…';
    // The camera and microphone the patient just checked are what the session sends.
    await this.preview;
    const session = (this.session ??= this.openCall());
    const hub = session.connect();
    hub.on('StateChanged', (notice: ParticipantStateNotice) => this.onState(notice));
    hub.on('WaitingRoomMessage', (message: WaitingRoomMessage) => this.onMessage(message));
    try {
      await hub.start();
    } catch {
      this.status.textContent = linkProblemText('offline');
      this.joinButton.disabled = false;
      return;
    }
    await this.enter();
  }

  /** The call view, hidden until admitted, with its chat; the connection's words are the patient's. */
  private openCall(): CallSession {
    const session = new CallSession({
      local: this.local,
      emptyText: 'Waiting for the others’ video…',
      staffName: () => this.therapistName ?? 'Your therapist',
      texts: {
        connectionLost: 'The connection to the clinic was lost. Reload this page to come back; you keep your place.',
        reconnecting: 'Your connection dropped. Reconnecting… you keep your place.',
        mediaProblem: 'The video connection had a problem. If the picture stops, reload this page.',
        mediaFailed: 'The video connection could not be set up. Reload this page to try again.',
      },
      showNotice: (m) => this.showNotice(m),
      onEnded: (reason) => this.sessionOver(reason),
      onReconnected: () => void this.enter(),
    });
    session.addChat();
    session.view.root.hidden = true;
    this.main.insertBefore(session.view.root, this.joinActions);
    return session;
  }

  /** Joins with the link (on the first Join, and again after a reconnect), then sets up the media of the call. */
  private async enter(): Promise<void> {
    const session = this.session;
    const hub = session?.hub;
    if (!session || !hub) return;
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
        await session.disconnect();
        this.status.textContent = 'The waiting room is not open yet.';
        this.setOpen(false, joined.opensAt);
        return;
      }
      if (joined.reason === 'unavailable') {
        // A database outage: the link is good, the join can simply be tried again.
        await session.disconnect();
        this.status.textContent = linkProblemText(joined.reason);
        this.joinButton.disabled = false;
        return;
      }
      this.finish(joined.reason === 'not-admitted' ? 'denied' : null, linkProblemText(joined.reason));
      return;
    }
    if (joined.deviceKey) sessionStorage.setItem(this.deviceKeyName, joined.deviceKey);
    session.accept(joined);
    this.notice.hidden = true;
    this.joinButton.hidden = true;
    this.leaveButton.hidden = false;
    this.openStatus.hidden = true;
    this.title.textContent = 'Waiting room';
    this.onState({ state: joined.state ?? 'waiting-for-therapist', message: null, byName: null });
    await session.startMedia(joined);
    await this.reportCheck();
  }

  private onState(notice: ParticipantStateNotice): void {
    if (this.finished) return;
    if (notice.byName && notice.state === 'admitted') this.therapistName = notice.byName;
    for (const peer of notice.peers ?? []) this.session?.peers.learn(peer);
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
    if (!admitted) this.session?.screen.setAllowed(false);
    this.status.textContent = stateText[notice.state];
    this.title.textContent = admitted ? 'Your video session' : 'Waiting room';
    this.messagesBox.hidden = admitted || this.messages.childElementCount === 0;
    this.showCall(admitted);
    if (admitted) this.session?.refreshNames();
  }

  /**
   * In the session the page becomes the call view (ui/callView.ts): it fits the window, with Mute, Camera off, the
   * devices and Leave in its bar. In the waiting room they are back in the device check.
   */
  private showCall(inCall: boolean): void {
    const view = this.session?.view;
    if (!view) return;
    view.root.hidden = !inCall;
    this.lead.hidden = inCall;
    this.checkCard.hidden = inCall;
    this.placeControls(inCall);
    if (inCall) {
      view.end.append(this.leaveButton);
      view.show();
    } else {
      this.joinActions.append(this.leaveButton);
      view.hide();
    }
  }

  /** The camera and microphone controls: in the call's bar, or in the device check. */
  private placeControls(inCall: boolean): void {
    const parts = this.controls;
    if (!parts) {
      this.controlsSlot.replaceChildren(...(this.local ? [] : [noMedia()]));
      return;
    }
    if (inCall && this.session) {
      this.devices.replaceChildren(this.devices.firstElementChild ?? el('summary', {}, 'Devices'), parts.devices);
      // Right after the connection indicator, before Share screen and Chat, as in the therapist's bar.
      this.session.placeControls(...parts.toggles, this.devices);
    } else {
      this.controlsSlot.replaceChildren(el('div', { class: 'media-controls' }, ...parts.toggles, parts.devices));
    }
  }

  private onMessage(message: WaitingRoomMessage): void {
    this.messages.append(el('li', {}, el('span', { class: 'muted' }, `${formatTime(message.sentAt)} · ${message.fromName}: `), message.text));
    if (this.state !== 'admitted') this.messagesBox.hidden = false;
  }

  private async leave(): Promise<void> {
    this.leaveButton.disabled = true;
    await this.session?.leave();
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
    this.session?.close();
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
