import { api, type StaffMember } from '../api';
import { el } from '../dom';

/** Replaces the page with an optional header and a <main>; returns the main element to fill. */
export function pageShell(root: HTMLElement, header?: HTMLElement): HTMLElement {
  const main = el('main', { id: 'main', tabindex: '-1' });
  root.replaceChildren(...(header ? [header] : []), main);
  return main;
}

/** The small header on staff pages: the product name, the calendar, who is signed in, and Sign out. */
export function staffHeader(staff: StaffMember): HTMLElement {
  const signOut = el('button', { type: 'button', class: 'secondary' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    signOut.disabled = true;
    await api('POST', '/api/v1/auth/logout');
    window.location.assign('/');
  });
  return el(
    'header',
    { class: 'site-header' },
    el('a', { href: '/schedule/calendar', class: 'brand' }, 'Teletherapy'),
    el(
      'nav',
      { 'aria-label': 'Staff' },
      el('a', { href: '/schedule/calendar' }, 'Calendar'),
      el('a', { href: '/patients' }, 'Patients'),
      ...(staff.role === 'admin' ? [el('a', { href: '/settings/clinic' }, 'Clinic settings'), el('a', { href: '/settings/staff' }, 'Staff')] : []),
    ),
    el('span', { class: 'who' }, staff.name),
    signOut,
  );
}

/** The signed-in staff member, or null after sending the browser to the sign-in page. */
export async function requireStaff(): Promise<StaffMember | null> {
  const me = await api<StaffMember>('GET', '/api/v1/auth/me');
  if (me.ok) return me.value;
  window.location.assign('/');
  return null;
}

/** The small header on patient pages. */
export function publicHeader(): HTMLElement {
  return el('header', { class: 'site-header' }, el('span', { class: 'brand' }, 'Teletherapy'));
}
