import type { HubConnection } from '@microsoft/signalr';
import { api, type CalendarItem } from '../api';
import { el } from '../dom';
import { formatElapsed, formatTime } from '../format';
import { LocalMedia, mediaErrorText } from '../media/localMedia';
import { CallSession } from '../session/callSession';
import {
  roleLabel,
  type ConnectionCheckSummary,
  type JoinResult,
  type PeerInfo,
  type WaitingParticipant,
  type WaitingRoomSnapshot,
} from '../session/contract';
import { canAskForNotifications, notifyArrival, playKnock } from '../session/knock';
import { devicesMenu, mediaControlParts } from '../ui/callControls';
import type { PanelHandle } from '../ui/callView';
import { pageShell, requireStaff, staffHeader } from '../ui/layout';
import { clinicRange } from '../timeZones';
import { therapistRefusal } from './calendar';

/** The therapist's session room: video, controls, and the waiting room with Admit / Deny / Send to waiting room. */
export async function renderSession(root: HTMLElement, params: Record<string, string>): Promise<void> {
  document.title = 'Session · Teletherapy';
  const staff = await requireStaff();
  if (!staff) return;
  const main = pageShell(root, staffHeader(staff));
  const appointmentId = params.id;
  const title = el('h1', {}, 'Session');
  const status = el('p', { role: 'status', id: 'session-status' }, 'Checking the appointment…');
  main.replaceChildren(title, status);

  const check = await api<{ sessionUrl: string }>('POST', `/api/v1/appointments/${encodeURIComponent(appointmentId)}/join`);
  if (!check.ok) {
    showRefusal(main, title, check.problem.reason, check.problem.opensAt, await clinicZoneOf(appointmentId, check.problem.opensAt));
    return;
  }
  void describeAppointment(appointmentId).then((text) => {
    if (text) title.textContent = text;
  });

  status.textContent = 'Starting your camera and microphone…';
  let local: LocalMedia | null = null;
  let mediaProblem: string | null = null;
  try {
    local = await LocalMedia.open();
  } catch (error) {
    mediaProblem = mediaErrorText(error);
  }

  status.textContent = 'Connecting to the session…';
  const room = new TherapistRoom(appointmentId, local, main, title);
  const hub = room.hub;
  try {
    await hub.start();
    const joined = await hub.invoke<JoinResult>('JoinAsTherapist', appointmentId);
    if (!joined.accepted) {
      local?.stop();
      await hub.stop();
      showRefusal(main, title, joined.reason, joined.opensAt, await clinicZoneOf(appointmentId, joined.opensAt));
      return;
    }
    await room.enter(joined, mediaProblem);
  } catch {
    local?.stop();
    status.textContent = 'The session could not be reached. Check your connection and reload the page.';
  }
}

/** The clinic's time zone, for a refusal that names a time ("Opens at …"). */
async function clinicZoneOf(appointmentId: string, opensAt: string | null): Promise<string | null> {
  if (!opensAt) return null;
  const one = await api<{ timeZone: string }>('GET', `/api/v1/appointments/${encodeURIComponent(appointmentId)}`);
  return one.ok ? one.value.timeZone : null;
}

function showRefusal(main: HTMLElement, title: HTMLElement, reason: string | null, opensAt: string | null, timeZone: string | null): void {
  title.textContent = 'You cannot join this session';
  main.replaceChildren(
    title,
    el('p', { role: 'alert', class: 'refusal', 'data-reason': reason ?? '' }, therapistRefusal(reason, opensAt, timeZone)),
    el('p', {}, el('a', { href: '/schedule/calendar' }, 'Back to the calendar')),
  );
}

async function describeAppointment(id: string): Promise<string | null> {
  const one = await api<{ start: string; end: string; timeZone: string }>('GET', `/api/v1/appointments/${id}`);
  if (!one.ok) return null;
  const list = await api<CalendarItem[]>('GET', `/api/v1/appointments?from=${encodeURIComponent(one.value.start)}&to=${encodeURIComponent(one.value.end)}`);
  const item = list.ok ? list.value.find((i) => i.id === id) : undefined;
  const time = clinicRange(one.value.start, one.value.end, one.value.timeZone);
  return item ? `Session with ${item.patientName} · ${time}` : `Session · ${time}`;
}

class TherapistRoom {
  readonly hub: HubConnection;
  private readonly session: CallSession;
  private entered = false;
  private endedShown = false;
  private waitingPanel: PanelHandle | null = null;
  private readonly queue = el('ul', { class: 'queue', 'aria-labelledby': 'waiting-title' });
  private readonly inSession = el('ul', { class: 'queue', 'aria-labelledby': 'insession-title' });
  private readonly waitingTitle = el('h2', { id: 'waiting-title' }, 'Waiting room');
  private readonly admitAll = el('button', { type: 'button', hidden: true }, 'Admit all');
  private readonly announce = el('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  private readonly notice = el('p', { class: 'notice', role: 'alert', hidden: true });
  private ticker = 0;

  /** The hub connection comes with its handlers: hub events can arrive while JoinAsTherapist runs. */
  constructor(
    private readonly appointmentId: string,
    private readonly local: LocalMedia | null,
    private readonly main: HTMLElement,
    private readonly title: HTMLElement,
  ) {
    this.session = new CallSession({
      local,
      emptyText: 'Nobody else is in the session yet. Admit someone from the waiting room.',
      staffName: () => 'Therapist',
      texts: {
        connectionLost: 'The connection to the session was lost. Reload the page to rejoin.',
        mediaProblem: 'The video connection had a problem. If the picture stops, reload the page.',
        mediaFailed: 'The video connection could not be set up. Reload the page to try again.',
      },
      showNotice: (m) => this.showNotice(m),
      onEnded: (reason) => this.showEnded(reason),
      onReconnected: () => void this.rejoin(),
    });
    this.hub = this.session.connect();
    this.hub.on('WaitingRoomChanged', (snapshot: WaitingRoomSnapshot) => this.renderQueue(snapshot));
    this.hub.on('Knock', (participant: WaitingParticipant) => this.knock(participant));
  }

  async enter(joined: JoinResult, mediaProblem: string | null): Promise<void> {
    this.session.accept(joined);
    this.entered = true;
    this.layout(mediaProblem);
    if (joined.waitingRoom) this.renderQueue(joined.waitingRoom);
    await this.session.startMedia(joined);
    this.ticker = window.setInterval(() => this.tick(), 1000);
  }

  private layout(mediaProblem: string | null): void {
    const leave = el('button', { type: 'button', class: 'secondary' }, 'Leave');
    const end = el('button', { type: 'button', class: 'danger' }, 'End session');
    leave.addEventListener('click', async () => {
      leave.disabled = true;
      await this.session.leave();
      this.shutdown();
      window.location.assign('/schedule/calendar');
    });
    const dialog = this.confirmEnd();
    end.addEventListener('click', () => dialog.showModal());

    const message = el('input', { id: 'waiting-message', type: 'text', maxlength: '500', autocomplete: 'off', placeholder: 'For example: Running 5 minutes late' });
    const sendMessage = el('button', { type: 'submit' }, 'Send message');
    const messageStatus = el('p', { class: 'muted', role: 'status' });
    const messageForm = el(
      'form',
      { class: 'message-form' },
      el('label', { for: 'waiting-message' }, 'Message to the waiting room'),
      el('div', { class: 'inline' }, message, sendMessage),
      messageStatus,
    );
    messageForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = message.value.trim();
      if (text.length === 0) return;
      sendMessage.disabled = true;
      try {
        await this.hub.invoke('MessageWaitingRoom', text);
        messageStatus.textContent = `Sent at ${formatTime(new Date())}: “${text}”`;
        message.value = '';
      } catch {
        messageStatus.textContent = 'The message could not be sent.';
      } finally {
        sendMessage.disabled = false;
      }
    });

    const notifyButton = el('button', { type: 'button', class: 'link' }, 'Turn on arrival notifications');
    notifyButton.hidden = !canAskForNotifications();
    notifyButton.addEventListener('click', async () => {
      await Notification.requestPermission().catch(() => 'denied');
      notifyButton.hidden = true;
    });

    this.admitAll.addEventListener('click', () => void this.act('AdmitAll'));

    const panel = el(
      'aside',
      { class: 'waiting-panel card', 'aria-labelledby': 'waiting-title' },
      this.waitingTitle,
      this.queue,
      el('p', {}, this.admitAll),
      el('h3', { id: 'insession-title' }, 'In the session'),
      this.inSession,
      messageForm,
      notifyButton,
    );
    const view = this.session.view;
    const parts = mediaControlParts(this.local, (m) => this.showNotice(m));
    this.waitingPanel = view.addPanel(panel, 'Waiting room', true);
    this.session.addChat();
    this.session.screen.setAllowed(true);
    // The bar: connection, Mute, Camera off, Devices, Share screen, Chat, then the waiting room.
    if (parts) this.session.placeControls(...parts.toggles, devicesMenu(parts.devices));
    view.bar.append(this.waitingPanel.button);
    view.end.append(leave, end);
    const warn = mediaProblem ? [el('p', { class: 'notice', role: 'alert' }, mediaProblem)] : [];
    this.main.replaceChildren(this.title, ...warn, this.notice, this.announce, view.root, dialog);
    view.show();
  }

  private confirmEnd(): HTMLDialogElement {
    const confirm = el('button', { type: 'button', class: 'danger' }, 'End for everyone');
    const cancel = el('button', { type: 'button', class: 'secondary' }, 'Keep the session going');
    const dialog = el(
      'dialog',
      { 'aria-labelledby': 'end-title', 'aria-describedby': 'end-text' },
      el('h2', { id: 'end-title' }, 'End the session?'),
      el('p', { id: 'end-text' }, 'Everyone leaves the session and the join links stop working for this appointment.'),
      el('div', { class: 'inline' }, cancel, confirm),
    );
    cancel.addEventListener('click', () => dialog.close());
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      try {
        await this.hub.invoke('EndSession');
        dialog.close();
        this.showEnded();
      } catch {
        confirm.disabled = false;
        dialog.close();
        this.showNotice('The session could not be ended. Please try again.');
      }
    });
    return dialog;
  }

  private renderQueue(snapshot: WaitingRoomSnapshot): void {
    if (!this.entered) return;
    for (const w of snapshot.waiting) this.session.peers.learn(w);
    for (const p of snapshot.inSession) this.session.peers.learn(p);
    this.session.refreshNames();
    const focusedKey = (document.activeElement as HTMLElement | null)?.dataset?.key;

    const count = snapshot.waiting.length;
    this.waitingTitle.textContent = count === 0 ? 'Waiting room' : `Waiting room (${count})`;
    if (this.waitingPanel) this.waitingPanel.button.textContent = this.waitingTitle.textContent;
    this.admitAll.hidden = snapshot.waiting.filter((w) => w.connected).length < 2;
    if (count === 0) {
      this.queue.replaceChildren(el('li', { class: 'muted' }, 'Nobody is waiting.'));
    } else {
      this.queue.replaceChildren(...snapshot.waiting.map((w) => this.waitingEntry(w)));
    }

    const others = snapshot.inSession.filter((p) => p.participantId !== this.session.participantId);
    this.inSession.replaceChildren(
      ...(others.length === 0 ? [el('li', { class: 'muted' }, 'Only you.')] : others.map((p) => this.inSessionEntry(p))),
    );
    if (focusedKey) (this.main.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`) as HTMLElement | null)?.focus();
    this.tick();
  }

  private waitingEntry(w: WaitingParticipant): HTMLElement {
    const nameId = `w-${w.participantId}`;
    const admit = el('button', { type: 'button', 'aria-describedby': nameId, 'data-key': `admit-${w.participantId}` }, 'Admit');
    const deny = el('button', { type: 'button', class: 'secondary', 'aria-describedby': nameId, 'data-key': `deny-${w.participantId}` }, 'Deny');
    admit.disabled = !w.connected;
    admit.addEventListener('click', () => void this.act('Admit', w.participantId));
    deny.addEventListener('click', () => void this.act('Deny', w.participantId));
    return el(
      'li',
      { class: 'waiting-entry', 'data-participant': w.participantId },
      el('div', { class: 'who' }, el('strong', { id: nameId }, w.name), el('span', { class: 'role' }, roleLabel(w.role))),
      el('p', { class: 'waited', 'data-since': w.waitingSince }),
      el('p', { class: 'check' }, checkText(w.connectionCheck)),
      w.connected ? '' : el('p', { class: 'muted' }, 'Connection lost — keeping their place for a minute.'),
      w.secondDevice ? el('p', { class: 'notice second-device' }, 'Second device: this link is already in use on another device. Admit only if you expect it.') : '',
      el('div', { class: 'inline' }, admit, deny),
    );
  }

  private inSessionEntry(p: PeerInfo): HTMLElement {
    const nameId = `s-${p.participantId}`;
    const entry = el(
      'li',
      { class: 'session-entry', 'data-participant': p.participantId },
      el('div', { class: 'who' }, el('strong', { id: nameId }, p.name), el('span', { class: 'role' }, roleLabel(p.role))),
      p.connected ? '' : el('p', { class: 'muted' }, 'Reconnecting…'),
    );
    if (p.role !== 'therapist') {
      const back = el('button', { type: 'button', class: 'secondary', 'aria-describedby': nameId, 'data-key': `back-${p.participantId}` }, 'Send to waiting room');
      back.addEventListener('click', () => void this.act('SendToWaitingRoom', p.participantId));
      // A toggle: its name stays, aria-pressed says whether this person may share their screen now.
      const share = el('button', { type: 'button', class: 'secondary toggle', 'aria-pressed': String(!!p.mayShareScreen), 'aria-describedby': nameId, 'data-key': `share-${p.participantId}` }, 'Allow screen sharing');
      share.addEventListener('click', () => void this.allowScreenShare(p.participantId, !p.mayShareScreen));
      entry.append(el('div', { class: 'inline' }, back, share));
    }
    return entry;
  }

  private async act(method: 'Admit' | 'Deny' | 'SendToWaitingRoom' | 'AdmitAll', participantId?: string): Promise<void> {
    try {
      const done = participantId === undefined ? await this.hub.invoke<boolean>(method) : await this.hub.invoke<boolean>(method, participantId);
      if (!done) this.showNotice('That did not work: the waiting room has changed. The list is up to date now.');
    } catch {
      this.showNotice('That did not work. Check your connection and try again.');
    }
  }

  private async allowScreenShare(participantId: string, allowed: boolean): Promise<void> {
    try {
      if (!(await this.hub.invoke<boolean>('AllowScreenShare', participantId, allowed))) {
        this.showNotice('That did not work: this person is no longer in the session.');
      }
    } catch {
      this.showNotice('That did not work. Check your connection and try again.');
    }
  }

  private knock(participant: WaitingParticipant): void {
    this.session.peers.learn(participant);
    if (!this.entered) return;
    playKnock();
    notifyArrival(participant.name);
    this.announce.textContent = `${participant.name} is in the waiting room.`;
  }

  private tick(): void {
    const now = Date.now();
    for (const node of this.queue.querySelectorAll<HTMLElement>('.waited')) {
      const since = Date.parse(node.dataset.since ?? '');
      node.textContent = Number.isNaN(since) ? '' : `Waiting ${formatElapsed((now - since) / 1000)}`;
    }
  }

  private async rejoin(): Promise<void> {
    try {
      const joined = await this.hub.invoke<JoinResult>('JoinAsTherapist', this.appointmentId);
      if (!joined.accepted) {
        this.showEnded(joined.reason);
        return;
      }
      this.session.accept(joined);
      if (joined.waitingRoom) this.renderQueue(joined.waitingRoom);
      await this.session.startMedia(joined);
      this.notice.hidden = true;
    } catch {
      this.showNotice('The connection to the session was lost. Reload the page to rejoin.');
    }
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  private shutdown(): void {
    window.clearInterval(this.ticker);
    this.session.close();
  }

  /** The session is over: End session (reason ended), or a change to the appointment closed it or took this therapist off it. */
  private showEnded(reason: string | null = null): void {
    if (this.endedShown) return;
    this.endedShown = true;
    this.shutdown();
    const changed = reason !== null && reason !== 'ended';
    const titles: Record<string, string> = { cancelled: 'The appointment was cancelled', 'too-early': 'The appointment was moved' };
    this.title.textContent = changed ? titles[reason] ?? 'You cannot join this session' : 'The session has ended';
    const text = changed
      ? `${therapistRefusal(reason, null)}${reason === 'not-listed' ? '' : ' The session is closed for everyone.'}`
      : 'The session has ended for everyone. The join links for this appointment no longer work.';
    this.main.replaceChildren(
      this.title,
      el('p', { role: 'status', id: 'session-status', 'data-reason': reason ?? 'ended' }, text),
      el('p', {}, el('a', { href: '/schedule/calendar' }, 'Back to the calendar')),
    );
  }
}

function checkText(check: ConnectionCheckSummary | null): string {
  if (!check) return 'No connection test yet';
  const words: Record<string, string> = { good: 'good', fair: 'fair', poor: 'weak', failed: 'failed' };
  const parts = [`Connection test: ${words[check.verdict] ?? check.verdict}`];
  if (check.roundTripMs !== null) parts.push(`${check.roundTripMs} ms`);
  if (!check.videoReturned) parts.push('no video');
  if (!check.audioReturned) parts.push('no sound');
  return parts.join(' · ');
}
