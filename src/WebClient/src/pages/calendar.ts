import { api, type CalendarItem, type Clinic, type StaffMember, type Therapist } from '../api';
import { el } from '../dom';
import { cameraIcon } from '../ui/icons';
import { pageShell, requireStaff, staffHeader } from '../ui/layout';
import { addDaysTo, browserTimeZone, clinicTime, dateIn, dayStartIso, formatDate, isDate, mondayOf, todayIn } from '../timeZones';

/** Why Join Session does not work, in words for the therapist; times on the clinic's clock (`timeZone`). */
export function therapistRefusal(reason: string | null, opensAt: string | null, timeZone?: string | null): string {
  switch (reason) {
    case 'not-listed':
      return 'You are not a therapist listed on this appointment, so you cannot join its session. Ask the clinic to add you to the appointment.';
    case 'too-early':
      return opensAt ? `Opens at ${clinicTime(opensAt, timeZone)}` : 'The session opens 10 minutes before the start.';
    case 'ended':
      return 'This session has ended.';
    case 'cancelled':
      return 'This appointment was cancelled.';
    case 'not-found':
      return 'This appointment does not exist.';
    case 'unauthorized':
      return 'Please sign in again.';
    case 'forbidden':
      return 'Your role does not join sessions.';
    case 'session-full':
      return 'This session is full, or the server is at its limit of sessions. Try again in a few minutes.';
    default:
      return 'This appointment has no video session.';
  }
}

/** "3 appointments this week (1 cancelled)." */
function weekSummary(items: CalendarItem[]): string {
  const cancelled = items.filter((i) => i.status === 'cancelled').length;
  const active = items.length - cancelled;
  if (items.length === 0) return 'No appointments this week.';
  const count = `${active === 0 ? 'No' : active} appointment${active === 1 ? '' : 's'} this week`;
  return cancelled === 0 ? `${count}.` : `${count} (${cancelled} cancelled).`;
}

/**
 * The therapist's week (R4): each teletherapy appointment shows its tabs on hover or focus; the Teletherapy tab
 * (camera icon) has Join Session, disabled until the room opens; a badge counts who is waiting. Weeks, days and times
 * are the clinic's (its time zone), whatever the browser's zone: an appointment is in the column of its day there.
 */
export async function renderCalendar(root: HTMLElement): Promise<void> {
  document.title = 'Calendar · Teletherapy';
  const staff = await requireStaff();
  if (!staff) return;
  const main = pageShell(root, staffHeader(staff));
  const clinic = await api<Clinic>('GET', '/api/v1/clinic');
  const zone = clinic.ok ? clinic.value.timeZone : browserTimeZone();
  const params = new URLSearchParams(window.location.search);
  const requested = params.get('week');
  let weekStart = mondayOf(isDate(requested) ? requested : todayIn(zone));

  const heading = el('h2', { id: 'week-title', 'aria-live': 'polite' });
  const previous = el('button', { type: 'button', class: 'secondary' }, 'Previous week');
  const today = el('button', { type: 'button', class: 'secondary' }, 'This week');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next week');
  const status = el('p', { role: 'status', class: 'muted' });
  const grid = el('div', { class: 'week', role: 'list', 'aria-labelledby': 'week-title' });
  const newAppointment = el('a', { href: '/schedule/appointments/new', class: 'button' }, 'New appointment');
  // Admins and schedulers see everyone's appointments, or one therapist's; therapists only their own.
  const filter = el('select', { id: 'therapist-filter' }, el('option', { value: '' }, 'All therapists'));
  const filterBox = el('div', { class: 'field inline' }, el('label', { for: 'therapist-filter' }, 'Therapist'), filter);
  if (staff.role !== 'therapist') {
    const therapists = await api<Therapist[]>('GET', '/api/v1/therapists');
    if (therapists.ok) filter.append(...therapists.value.map((t) => el('option', { value: t.id }, t.name)));
    filter.value = params.get('therapist') ?? '';
    filter.addEventListener('change', () => {
      const url = new URL(window.location.href);
      if (filter.value) url.searchParams.set('therapist', filter.value);
      else url.searchParams.delete('therapist');
      window.history.replaceState(null, '', url);
      void load();
    });
  }
  main.replaceChildren(
    el('div', { class: 'calendar-top' }, el('h1', {}, 'Calendar'), newAppointment, ...(staff.role === 'therapist' ? [] : [filterBox]), el('div', { class: 'week-nav' }, previous, today, next)),
    heading,
    status,
    grid,
  );

  const waitingPolls = new Map<string, HTMLElement[]>();
  let loadVersion = 0;

  const load = async (): Promise<void> => {
    const version = ++loadVersion;
    heading.textContent = `Week of ${formatDate(weekStart, 'long')}`;
    const who = filter.value ? `&therapistId=${encodeURIComponent(filter.value)}` : '';
    const result = await api<CalendarItem[]>('GET', `/api/v1/appointments?from=${encodeURIComponent(dayStartIso(weekStart, zone))}&to=${encodeURIComponent(dayStartIso(addDaysTo(weekStart, 7), zone))}${who}`);
    if (version !== loadVersion) return;
    if (!result.ok) {
      if (result.problem.status === 401) {
        window.location.assign('/');
        return;
      }
      status.textContent = 'The calendar could not be loaded. Please try again in a moment.';
      return;
    }
    const items = [...result.value].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    status.textContent = weekSummary(items);
    waitingPolls.clear();
    const focusedId = (document.activeElement?.closest('[data-appointment]') as HTMLElement | null)?.dataset.appointment;
    const today = todayIn(zone);
    grid.replaceChildren(
      ...Array.from({ length: 7 }, (_, i) => {
        const day = addDaysTo(weekStart, i);
        const dayItems = items.filter((item) => dateIn(item.start, zone) === day);
        const isToday = day === today;
        return el(
          'section',
          { class: `day${isToday ? ' today' : ''}`, role: 'listitem', 'aria-label': formatDate(day, 'long'), 'data-day': day },
          el('h3', {}, formatDate(day, 'short'), isToday ? el('span', { class: 'today-tag' }, ' · today') : ''),
          dayItems.length === 0
            ? el('p', { class: 'muted empty' }, 'No appointments')
            : el('ul', { class: 'appointments' }, ...dayItems.map((item) => appointmentCard(item, staff, waitingPolls, zone))),
        );
      }),
    );
    if (focusedId) (grid.querySelector(`[data-appointment="${CSS.escape(focusedId)}"]`) as HTMLElement | null)?.focus();
    void pollWaiting();
  };

  const pollWaiting = async (): Promise<void> => {
    for (const [id, badges] of waitingPolls) {
      const result = await api<{ waiting: number }>('GET', `/api/v1/appointments/${id}/waiting`);
      if (!result.ok) continue;
      const count = result.value.waiting;
      for (const badge of badges) {
        badge.hidden = count === 0;
        badge.textContent = count === 1 ? '1 waiting' : `${count} waiting`;
      }
    }
  };

  const go = (start: string): void => {
    weekStart = start;
    const url = new URL(window.location.href);
    url.searchParams.set('week', start);
    window.history.replaceState(null, '', url);
    void load();
  };
  previous.addEventListener('click', () => go(addDaysTo(weekStart, -7)));
  next.addEventListener('click', () => go(addDaysTo(weekStart, 7)));
  today.addEventListener('click', () => go(mondayOf(todayIn(zone))));

  await load();
  // The join decision changes with the clock (the room opens at start − 10 min); the badge with the waiting room.
  const refresh = window.setInterval(() => {
    if (!grid.isConnected) window.clearInterval(refresh);
    else if (!grid.querySelector('.appointment:hover, .appointment:focus-within')) void load();
  }, 30_000);
  const badgeTimer = window.setInterval(() => {
    if (!grid.isConnected) window.clearInterval(badgeTimer);
    else void pollWaiting();
  }, 5_000);
}

let tabCounter = 0;

function appointmentCard(item: CalendarItem, staff: StaffMember, waitingPolls: Map<string, HTMLElement[]>, zone: string): HTMLElement {
  const uid = `a${++tabCounter}`;
  // The card is small: the clinic's zone is named when the browser's differs; the details tab adds the viewer's own time.
  const time = clinicTime(item.start, zone, { end: item.end, ownTime: false });
  const cancelled = item.status === 'cancelled';
  const badge = el('span', { class: 'badge', hidden: true, 'aria-live': 'polite' });
  const summary = el(
    'div',
    { class: 'summary', id: `${uid}-summary` },
    cancelled ? el('span', { class: 'state-tag' }, 'Cancelled') : '',
    el('span', { class: 'time' }, time),
    el('span', { class: 'patient' }, item.patientName),
    item.teletherapy ? el('span', { class: 'kind' }, cameraIcon(), ' Video session') : el('span', { class: 'kind muted' }, 'In person'),
    badge,
  );

  const tabs: Array<{ name: string; icon: boolean; panel: HTMLElement }> = [{ name: 'Details', icon: false, panel: detailsPanel(item, staff, zone) }];
  // Schedulers never join a session, and a cancelled appointment has none.
  if (item.teletherapy && staff.role !== 'scheduler' && !cancelled) {
    const waitingBadge = el('p', { class: 'badge', hidden: true });
    waitingPolls.set(item.id, [badge, waitingBadge]);
    tabs.push({ name: 'Teletherapy', icon: true, panel: teletherapyPanel(item, waitingBadge, zone) });
  }

  const tabList = el('div', { role: 'tablist', 'aria-label': `${item.patientName}, ${time}` });
  const buttons: HTMLButtonElement[] = [];
  const panels: HTMLElement[] = [];
  tabs.forEach((tab, index) => {
    const tabId = `${uid}-tab-${index}`;
    const panelId = `${uid}-panel-${index}`;
    const button = el('button', { type: 'button', role: 'tab', id: tabId, 'aria-controls': panelId, 'aria-selected': String(index === 0), tabindex: index === 0 ? '0' : '-1' });
    if (tab.icon) button.append(cameraIcon(), ' ');
    button.append(tab.name);
    tab.panel.id = panelId;
    tab.panel.setAttribute('role', 'tabpanel');
    tab.panel.setAttribute('aria-labelledby', tabId);
    tab.panel.hidden = index !== 0;
    buttons.push(button);
    panels.push(tab.panel);
    tabList.append(button);
  });
  const select = (index: number, focus: boolean): void => {
    buttons.forEach((b, i) => {
      b.setAttribute('aria-selected', String(i === index));
      b.tabIndex = i === index ? 0 : -1;
      panels[i].hidden = i !== index;
    });
    if (focus) buttons[index].focus();
  };
  buttons.forEach((button, index) => {
    button.addEventListener('click', () => select(index, true));
    button.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowRight') select((index + 1) % buttons.length, true);
      else if (event.key === 'ArrowLeft') select((index - 1 + buttons.length) % buttons.length, true);
      else if (event.key === 'Home') select(0, true);
      else if (event.key === 'End') select(buttons.length - 1, true);
      else return;
      event.preventDefault();
    });
  });

  const card = el(
    'li',
    { class: `appointment${item.teletherapy ? ' teletherapy' : ''}${cancelled ? ' cancelled' : ''}`, 'data-appointment': item.id, 'data-status': item.status, tabindex: '0', 'aria-labelledby': `${uid}-summary` },
    summary,
    el('div', { class: 'popover' }, tabList, ...panels),
  );
  // Touch screens have no hover: a tap opens the tabs too.
  card.addEventListener('click', (event) => {
    if (event.target === card || summary.contains(event.target as Node)) card.classList.toggle('open');
  });
  card.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      card.classList.remove('open');
      card.focus();
    }
  });
  return card;
}

const statusWords: Record<string, string> = { scheduled: 'Scheduled', cancelled: 'Cancelled', ended: 'Ended' };

function detailsPanel(item: CalendarItem, staff: StaffMember, zone: string): HTMLElement {
  const listed = item.therapistIds.includes(staff.id);
  const others = item.therapistIds.filter((id) => id !== staff.id).length;
  const therapists = listed ? (others === 0 ? 'You' : `You and ${others} other${others === 1 ? '' : 's'}`) : `${item.therapistIds.length} therapist${item.therapistIds.length === 1 ? '' : 's'}`;
  return el(
    'div',
    { class: 'panel' },
    el(
      'dl',
      {},
      el('dt', {}, 'Patient'),
      el('dd', {}, item.patientName),
      el('dt', {}, 'When'),
      el('dd', { class: 'when' }, clinicTime(item.start, zone, { end: item.end, day: 'long' })),
      el('dt', {}, 'Type'),
      el('dd', {}, item.teletherapy ? 'Video session (teletherapy)' : 'In person'),
      el('dt', {}, 'Therapists'),
      el('dd', {}, therapists),
      el('dt', {}, 'Status'),
      el('dd', {}, statusWords[item.status] ?? item.status),
    ),
    el('p', {}, el('a', { href: `/schedule/appointments/${encodeURIComponent(item.id)}` }, 'Open details')),
  );
}

function teletherapyPanel(item: CalendarItem, waitingBadge: HTMLElement, zone: string): HTMLElement {
  const join = el('button', { type: 'button', class: 'primary' }, 'Join Session');
  const note = el('p', { class: 'join-note', id: `note-${item.id}` });
  const allowed = item.canJoin === true;
  join.disabled = !allowed;
  if (!allowed) {
    note.textContent = therapistRefusal(item.joinRefusedReason, item.opensAt, zone);
    join.setAttribute('aria-describedby', note.id);
  } else {
    note.textContent = `The waiting room is open. The session starts at ${clinicTime(item.start, zone)}.`;
  }
  join.addEventListener('click', async () => {
    join.disabled = true;
    const result = await api<{ sessionUrl: string }>('POST', `/api/v1/appointments/${item.id}/join`);
    if (result.ok) {
      window.location.assign(result.value.sessionUrl);
      return;
    }
    note.textContent = therapistRefusal(result.problem.reason, result.problem.opensAt ?? item.opensAt, zone);
    join.disabled = result.problem.reason !== null && result.problem.reason !== 'offline';
  });
  return el('div', { class: 'panel' }, el('p', {}, join), note, waitingBadge);
}
