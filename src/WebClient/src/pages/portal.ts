import { api, type PortalNotification } from '../api';
import { el } from '../dom';
import { cameraIcon } from '../ui/icons';
import { pageShell, publicHeader } from '../ui/layout';
import { clinicTime } from '../timeZones';

const PollMs = 15_000;

/** The patient portal: sign-in by emailed link, then the dashboard of due join notifications (R10). */
export async function renderPortal(root: HTMLElement): Promise<void> {
  document.title = 'Patient portal · Teletherapy';
  const main = pageShell(root, publicHeader());
  main.replaceChildren(el('h1', {}, 'Patient portal'), el('p', { role: 'status' }, 'Loading…'));
  const first = await api<PortalNotification[]>('GET', '/api/v1/portal/notifications');
  if (!first.ok && (first.problem.status === 401 || first.problem.status === 403)) {
    renderSignIn(main, new URLSearchParams(window.location.search).get('login') === 'expired');
    return;
  }
  renderDashboard(main, first.ok ? first.value : null);
}

function renderSignIn(main: HTMLElement, expired: boolean): void {
  const email = el('input', { id: 'portal-email', name: 'email', type: 'email', autocomplete: 'email', required: true });
  const submit = el('button', { type: 'submit' }, 'Email me a sign-in link');
  const status = el('p', { role: 'status', id: 'portal-status' });
  const form = el(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'portal-title' },
    el('h1', { id: 'portal-title' }, 'Sign in to the patient portal'),
    expired ? el('p', { class: 'notice', role: 'alert' }, 'That sign-in link has expired or was already used. Ask for a new one below.') : '',
    el('p', { class: 'muted' }, 'Enter the email address the clinic has for you. We will send you a link that signs you in; no password needed.'),
    el('label', { for: 'portal-email' }, 'Email'),
    email,
    el('p', {}, submit),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const result = await api('POST', '/api/v1/portal/login-link', { email: email.value });
    submit.disabled = false;
    status.textContent = result.ok
      ? `We've sent you a link. Open the email sent to ${email.value} and use the link on this device to sign in.`
      : 'The link could not be sent right now. Please try again in a moment.';
  });
  main.replaceChildren(form);
  email.focus();
}

function renderDashboard(main: HTMLElement, initial: PortalNotification[] | null): void {
  const list = el('ul', { class: 'notifications', 'aria-labelledby': 'notifications-title' });
  const status = el('p', { role: 'status', class: 'muted' });
  const signOut = el('button', { type: 'button', class: 'secondary' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    await api('POST', '/api/v1/auth/logout');
    window.location.assign('/portal');
  });
  main.replaceChildren(
    el('div', { class: 'calendar-top' }, el('h1', {}, 'Your appointments'), signOut),
    el('section', { class: 'card', 'aria-labelledby': 'notifications-title' }, el('h2', { id: 'notifications-title' }, 'Video sessions ready to join'), list, status),
  );
  let shown = '';
  const show = (items: PortalNotification[] | null): void => {
    if (items === null) {
      status.textContent = 'Your appointments could not be loaded. We will try again shortly.';
      return;
    }
    const key = items.map((n) => `${n.appointmentId}/${n.contactId}`).join(',');
    status.textContent = items.length === 0
      ? 'Nothing to join right now. A notification appears here 10 minutes before your video session starts.'
      : '';
    if (key === shown) return;
    shown = key;
    list.replaceChildren(...items.map(notificationItem));
  };
  show(initial);
  const timer = window.setInterval(async () => {
    if (!list.isConnected) {
      window.clearInterval(timer);
      return;
    }
    const next = await api<PortalNotification[]>('GET', '/api/v1/portal/notifications');
    if (!next.ok && next.problem.status === 401) {
      window.clearInterval(timer);
      window.location.assign('/portal');
      return;
    }
    show(next.ok ? next.value : null);
  }, PollMs);
}

function notificationItem(n: PortalNotification): HTMLElement {
  const join = el('button', { type: 'button', class: 'primary' }, 'Join the session');
  const problem = el('p', { class: 'notice', role: 'alert', hidden: true });
  const textId = `n-${n.appointmentId}-${n.contactId}`;
  join.setAttribute('aria-describedby', textId);
  join.addEventListener('click', async () => {
    join.disabled = true;
    const result = await api<{ joinUrl: string }>('POST', `/api/v1/portal/appointments/${n.appointmentId}/join`);
    if (result.ok) {
      // The join page lives on this same server; the link's host is the configured public address, which a
      // clinic behind a proxy or on a second name may reach differently, so stay on the address in use.
      const target = new URL(result.value.joinUrl, window.location.origin);
      window.location.assign(`${target.pathname}${target.search}`);
      return;
    }
    join.disabled = false;
    problem.hidden = false;
    problem.textContent = result.problem.reason === 'too-early'
      ? `The session opens at ${clinicTime(n.opensAt, n.timeZone)}.`
      : 'This session cannot be joined any more. If you need help, please contact the clinic.';
  });
  return el(
    'li',
    { class: 'notification', 'data-appointment': n.appointmentId },
    el(
      'div',
      { id: textId },
      el('p', { class: 'kind' }, cameraIcon(), ' Video session'),
      el('p', {}, el('strong', {}, `${n.patientName} with ${n.clinicName}`)),
      el('p', { class: 'when' }, clinicTime(n.start, n.timeZone, { end: n.end, day: 'long' })),
    ),
    join,
    problem,
  );
}
