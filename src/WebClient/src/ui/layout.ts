import { api, type Problem, type Role, type StaffMember } from '../api';
import { el } from '../dom';

/** Replaces the page with an optional header and a <main>; returns the main element to fill. */
export function pageShell(root: HTMLElement, header?: HTMLElement): HTMLElement {
  const main = el('main', { id: 'main', tabindex: '-1' });
  root.replaceChildren(...(header ? [header] : []), main);
  return main;
}

/** The staff pages each role may open from the header (the server enforces the rights anyway). */
const staffLinks: Array<{ href: string; text: string; roles: Role[] }> = [
  { href: '/schedule/calendar', text: 'Calendar', roles: ['admin', 'scheduler', 'therapist'] },
  { href: '/patients', text: 'Patients', roles: ['admin', 'scheduler', 'therapist'] },
  { href: '/settings/clinic', text: 'Clinic settings', roles: ['admin'] },
  { href: '/settings/staff', text: 'Staff', roles: ['admin'] },
];

function isCurrent(href: string, path: string): boolean {
  if (href === '/schedule/calendar') return path.startsWith('/schedule/');
  return path === href || path.startsWith(`${href}/`);
}

/** The small header on staff pages: the product name, the pages of the member's role, who is signed in, and Sign out. */
export function staffHeader(staff: StaffMember): HTMLElement {
  const signOut = el('button', { type: 'button', class: 'secondary' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    signOut.disabled = true;
    await api('POST', '/api/v1/auth/logout');
    window.location.assign('/');
  });
  const path = window.location.pathname;
  const links = staffLinks
    .filter((link) => link.roles.includes(staff.role))
    .map((link) => el('a', { href: link.href, ...(isCurrent(link.href, path) ? { 'aria-current': 'page' } : {}) }, link.text));
  return el(
    'header',
    { class: 'site-header' },
    el('a', { href: '/schedule/calendar', class: 'brand' }, 'Teletherapy'),
    el('nav', { 'aria-label': 'Staff' }, ...links),
    el('span', { class: 'who' }, staff.name),
    signOut,
  );
}

/** The signed-in staff member (with role), or null after sending the browser to the sign-in page. */
export async function requireStaff(): Promise<StaffMember | null> {
  const me = await api<StaffMember>('GET', '/api/v1/auth/me');
  if (me.ok) return me.value;
  window.location.assign('/');
  return null;
}

/**
 * A staff page: signs in the member, lays out header, main and heading. When `roles` is given and the member's
 * role is not among them, the page says so and returns null.
 */
export async function staffPage(root: HTMLElement, title: string, roles?: Role[]): Promise<{ staff: StaffMember; main: HTMLElement } | null> {
  document.title = `${title} · Teletherapy`;
  const staff = await requireStaff();
  if (!staff) return null;
  const main = pageShell(root, staffHeader(staff));
  main.append(el('h1', {}, title));
  if (roles && !roles.includes(staff.role)) {
    noAccess(main);
    return null;
  }
  return { staff, main };
}

/** The short message on a page the member's role may not use. */
export function noAccess(main: HTMLElement): void {
  main.append(el('p', { role: 'status', class: 'notice' }, 'You do not have access to this page.'));
}

/** A page whose data could not be loaded: no access, gone, signed out, or a try-again message. */
export function showLoadProblem(main: HTMLElement, problem: Problem): void {
  if (problem.status === 401) {
    window.location.assign('/');
    return;
  }
  if (problem.status === 403) {
    noAccess(main);
    return;
  }
  const words = problem.status === 404
    ? 'This does not exist (any more).'
    : problem.status === 0
      ? 'The server cannot be reached. Check your connection and reload the page.'
      : 'This page could not be loaded. Please try again in a moment.';
  main.append(el('p', { role: 'status', class: 'notice' }, words));
}

/** The small header on patient pages. */
export function publicHeader(): HTMLElement {
  return el('header', { class: 'site-header' }, el('span', { class: 'brand' }, 'Teletherapy'));
}
