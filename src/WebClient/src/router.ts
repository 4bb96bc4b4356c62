import { renderAppointmentDetails } from './pages/appointmentDetails';
import { renderAppointmentEditor } from './pages/appointmentEditor';
import { renderCalendar } from './pages/calendar';
import { renderCheck } from './pages/check';
import { renderClinicSettings } from './pages/clinicSettings';
import { renderJoin } from './pages/join';
import { renderNotFound } from './pages/notFound';
import { renderPatientEditor } from './pages/patientEditor';
import { renderPatients } from './pages/patients';
import { renderPortal } from './pages/portal';
import { renderSession } from './pages/session';
import { renderSignIn } from './pages/signIn';
import { renderStaff } from './pages/staff';

/** A page renders itself into the root element; path parameters come from the matched route. */
export type Page = (root: HTMLElement, params: Record<string, string>) => void | Promise<void>;

const routes: Array<[RegExp, string[], Page]> = [
  [/^\/$/, [], renderSignIn],
  [/^\/check\/?$/, [], renderCheck],
];

/** Registers a page for a path pattern such as `/join/:token`. */
export function addRoute(pattern: string, page: Page): void {
  const names: string[] = [];
  const source = pattern.replace(/:([a-zA-Z]+)/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  routes.push([new RegExp(`^${source}/?$`), names, page]);
}

addRoute('/schedule/calendar', renderCalendar);
addRoute('/schedule/appointments/new', renderAppointmentEditor);
addRoute('/schedule/appointments/:id/edit', renderAppointmentEditor);
addRoute('/schedule/appointments/:id', renderAppointmentDetails);
addRoute('/patients', renderPatients);
addRoute('/patients/new', renderPatientEditor);
addRoute('/patients/:id', renderPatientEditor);
addRoute('/settings/clinic', renderClinicSettings);
addRoute('/settings/staff', renderStaff);
addRoute('/session/:id', renderSession);
addRoute('/join/:token', renderJoin);
addRoute('/portal', renderPortal);

export function route(path: string, root: HTMLElement): void {
  for (const [regex, names, page] of routes) {
    const match = regex.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1])));
    void page(root, params);
    return;
  }
  renderNotFound(root);
}
