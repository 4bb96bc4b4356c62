import { api, type ApiResult, type AppointmentDetails, type AuditEvent, type FaceToFaceMinutes, type OutboxEmail } from '../api';
import { el } from '../dom';
import { formatElapsed } from '../format';
import { clinicTime, clinicZone, dayInZone, shortDateTimeInZone, timeInZone } from '../timeZones';
import { problemWords } from '../ui/forms';
import { showLoadProblem, staffPage } from '../ui/layout';

const emailKinds: Record<string, string> = {
  scheduled: 'Scheduled appointment',
  rescheduled: 'Moved appointment',
  reminder: 'Reminder',
  cancelled: 'Cancellation',
};

const refusalWords: Record<string, string> = {
  'not-listed': 'not listed on the appointment',
  'too-early': 'too early',
  ended: 'the session had ended',
  cancelled: 'the appointment was cancelled',
  'link-expired': 'the link had expired',
  'link-revoked': 'the link was replaced by a newer one',
  forbidden: 'not allowed',
  'not-found': 'no such appointment or link',
  'not-teletherapy': 'not a video appointment',
  'not-admitted': 'not admitted yet',
  'contact-removed': 'no longer a contact of the patient',
};

/** A machine reason (e.g. `too-early`) in words. */
export function reasonWords(reason: string): string {
  return refusalWords[reason] ?? reason.replace(/-/g, ' ');
}

/** One email line, e.g. "Scheduled appointment to Tom Keller (tom@example.org) — sent 8 Dec, 14:02". */
export function emailWords(email: OutboxEmail, timeZone: string): string {
  const kind = emailKinds[email.kind] ?? email.kind;
  const to = email.recipientName ? `${email.recipientName} (${email.recipient})` : email.recipient;
  const state = email.status === 'sent'
    ? `sent ${shortDateTimeInZone(email.sentAt ?? email.createdAt, timeZone)}`
    : email.status === 'pending'
      ? `waiting to be sent (since ${shortDateTimeInZone(email.createdAt, timeZone)})`
      : `not sent (discarded; written ${shortDateTimeInZone(email.createdAt, timeZone)})`;
  return `${kind} to ${to} — ${state}`;
}

/** An audit event in words, without its time, e.g. "Dr. Robin Demo admitted Sam Taylor". */
export function auditWords(e: AuditEvent): string {
  const who = e.actorName ?? (e.actorKind === 'integrator' ? 'The practice system' : e.actorKind === 'system' ? 'The system' : 'Someone');
  const whom = e.subjectName ?? 'a participant';
  const because = e.reason ? `: ${reasonWords(e.reason)}` : '';
  switch (e.kind) {
    case 'link-opened': return `${who} opened the join link`;
    case 'knocked': return `${who} knocked`;
    case 'admitted': return `${who} admitted ${whom}`;
    case 'denied': return `${who} denied ${whom}`;
    case 'sent-back': return `${who} sent ${whom} back to the waiting room`;
    case 'joined': return `${who} joined`;
    case 'left': return `${who} left`;
    case 'dropped': return `${who} dropped out`;
    case 'rejoined': return `${who} rejoined`;
    case 'ended': return e.reason ? `The session ended${because}` : `${who} ended the session`;
    case 'removed': return `${whom} was sent away after ${who} changed the appointment${because}`;
    case 'join-refused': return `${who}: join refused${because}`;
    case 'read-refused': return `${who}: access to the appointment refused${because}`;
    default: return `${who}: ${e.kind.replace(/-/g, ' ')}${because}`;
  }
}

/** Appointment details: facts, Change appointment, Cancel appointment (confirmed inline), emails, audit trail, minutes. */
export async function renderAppointmentDetails(root: HTMLElement, params: Record<string, string>): Promise<void> {
  const page = await staffPage(root, 'Appointment');
  if (!page) return;
  const body = el('div', { class: 'details' });
  page.main.append(body);
  await showDetails(body, params.id);
}

async function showDetails(body: HTMLElement, appointmentId: string, focusStatus = false): Promise<void> {
  const base = `/api/v1/appointments/${encodeURIComponent(appointmentId)}`;
  const [found, emails, audit, minutes] = await Promise.all([
    api<AppointmentDetails>('GET', base),
    api<OutboxEmail[]>('GET', `${base}/emails`),
    api<AuditEvent[]>('GET', `${base}/audit`),
    api<FaceToFaceMinutes>('GET', `${base}/minutes`),
  ]);
  if (!found.ok) {
    body.replaceChildren();
    showLoadProblem(body, found.problem);
    return;
  }
  const a = found.value;
  const status = el('p', { id: 'appointment-status', role: 'status', class: `status-line ${a.status}`, tabindex: '-1' }, `Status: ${a.status}`);
  const reload = (): Promise<void> => showDetails(body, appointmentId, true);
  body.replaceChildren(
    status,
    facts(a),
    actions(a, reload),
    emailsSection(emails, a.timeZone),
    minutesSection(minutes),
    ...auditSection(audit, a),
  );
  if (focusStatus) status.focus();
}

function facts(a: AppointmentDetails): HTMLElement {
  const series = a.seriesId ? [el('dt', {}, 'Series'), el('dd', {}, `Appointment ${a.seriesIndex + 1} of a series`)] : [];
  return el('dl', { class: 'facts' },
    el('dt', {}, 'Patient'), el('dd', {}, el('a', { href: `/patients/${encodeURIComponent(a.patientId)}` }, a.patientName)),
    el('dt', {}, 'When'), el('dd', { class: 'when' }, clinicTime(a.start, a.timeZone, { end: a.end, day: 'full' })),
    el('dt', {}, 'Therapists'), el('dd', {}, a.therapists.map((t) => t.name).join(', ') || '—'),
    el('dt', {}, 'Kind'), el('dd', {}, a.teletherapy ? 'Teletherapy (video session)' : 'In person'),
    ...series);
}

/** Change appointment and Cancel appointment, for a scheduled appointment; the cancel is confirmed inline. */
function actions(a: AppointmentDetails, reload: () => Promise<void>): HTMLElement {
  const box = el('div', { class: 'actions' });
  if (a.status !== 'scheduled') return box;
  const cancel = el('button', { type: 'button', class: 'danger', 'aria-expanded': 'false', 'aria-controls': 'confirm-cancel' }, 'Cancel appointment');
  const yes = el('button', { type: 'button', class: 'danger' }, 'Yes, cancel the appointment');
  const no = el('button', { type: 'button', class: 'secondary' }, 'Keep the appointment');
  const problem = el('p', { class: 'error', role: 'alert' });
  const confirm = el('div', { class: 'confirm', id: 'confirm-cancel', role: 'group', 'aria-labelledby': 'confirm-cancel-text', hidden: true },
    el('p', { id: 'confirm-cancel-text' }, a.teletherapy
      ? 'Cancel this appointment? Its join links stop working and the contacts are told by email.'
      : 'Cancel this appointment? The contacts are told by email.'),
    yes, no, problem);
  const toggle = (open: boolean): void => {
    confirm.hidden = !open;
    cancel.setAttribute('aria-expanded', String(open));
    (open ? yes : cancel).focus();
  };
  cancel.addEventListener('click', () => toggle(true));
  no.addEventListener('click', () => toggle(false));
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    problem.textContent = '';
    const result: ApiResult<AppointmentDetails> = await api('POST', `/api/v1/appointments/${encodeURIComponent(a.id)}/cancel`);
    if (result.ok) {
      await reload();
      return;
    }
    yes.disabled = false;
    problem.textContent = `The appointment could not be cancelled. ${problemWords(result.problem)}`;
  });
  box.append(el('a', { href: `/schedule/appointments/${encodeURIComponent(a.id)}/edit`, class: 'button secondary' }, 'Change appointment'), cancel, confirm);
  return box;
}

function section(id: string, title: string, ...content: Node[]): HTMLElement {
  return el('section', { class: 'card', 'aria-labelledby': id }, el('h2', { id }, title), ...content);
}

function emailsSection(emails: ApiResult<OutboxEmail[]>, timeZone: string): HTMLElement {
  const content = !emails.ok
    ? el('p', { class: 'muted' }, 'The emails could not be loaded.')
    : emails.value.length === 0
      ? el('p', { class: 'muted' }, 'No emails yet.')
      : el('ul', { class: 'plain emails' }, ...emails.value.map((m) => el('li', { 'data-status': m.status }, emailWords(m, timeZone))));
  return section('emails-title', 'Emails sent', content);
}

function minutesSection(minutes: ApiResult<FaceToFaceMinutes>): HTMLElement {
  const words = minutes.ok
    ? `${formatElapsed(minutes.value.seconds)} face to face (time in the waiting room not counted).`
    : 'The face-to-face time could not be loaded.';
  return section('minutes-title', 'Face-to-face minutes', el('p', {}, words));
}

/** The audit trail; left out quietly for whom it is forbidden (schedulers). */
function auditSection(audit: ApiResult<AuditEvent[]>, a: AppointmentDetails): HTMLElement[] {
  if (!audit.ok && audit.problem.status === 403) return [];
  const day = dayInZone(a.start, a.timeZone);
  const when = (e: AuditEvent): string => (dayInZone(e.at, a.timeZone) === day ? timeInZone(e.at, a.timeZone) : shortDateTimeInZone(e.at, a.timeZone));
  const content = !audit.ok
    ? el('p', { class: 'muted' }, 'The audit trail could not be loaded.')
    : audit.value.length === 0
      ? el('p', { class: 'muted' }, 'Nothing recorded yet.')
      : el('ol', { class: 'plain audit' }, ...audit.value.map((e) => el('li', {}, el('time', { datetime: e.at }, when(e)), ` ${auditWords(e)}`)));
  // The trail is on the clinic's clock; said so when the browser's is another.
  const zoneNote = clinicZone(a.timeZone).named ? [el('p', { class: 'hint' }, `Times in ${a.timeZone}.`)] : [];
  return [section('audit-title', 'Audit trail', content, ...zoneNote)];
}
