import { api, type Clinic, type ClinicInput } from '../api';
import { el } from '../dom';
import { checkbox, clearErrors, describeBy, field, showDone, showProblem, statusLine, textInput, timeZoneInput, uniqueId } from '../ui/forms';
import { showLoadProblem, staffPage } from '../ui/layout';

/** Clinic settings (admins): name, time zone and the appointment reminders feature (R8). */
export async function renderClinicSettings(root: HTMLElement): Promise<void> {
  const page = await staffPage(root, 'Clinic settings', ['admin']);
  if (!page) return;
  const clinic = await api<Clinic>('GET', '/api/v1/clinic');
  if (!clinic.ok) {
    showLoadProblem(page.main, clinic.problem);
    return;
  }
  page.main.append(settingsForm(clinic.value));
}

function settingsForm(clinic: Clinic): HTMLFormElement {
  const zone = timeZoneInput(clinic.timeZone);
  const name = field('Clinic name', 'name', textInput(clinic.name, 'text', { autocomplete: 'organization' }));
  const timeZone = field('Time zone', 'timeZone', zone.input, 'An IANA name such as Europe/Berlin. Appointment times, the editor and the emails use it.');
  const reminders = checkbox('Appointment reminders (email 24 hours before)', clinic.remindersEnabled, 'remindersEnabled');
  const hint = el('span', { class: 'hint', id: uniqueId('h') }, 'Contacts with email reminders on get a reminder with a Join the session button; SMS reminders never carry a link.');
  reminders.wrap.append(hint);
  describeBy(reminders.input, hint.id);
  const status = statusLine();
  const save = el('button', { type: 'submit' }, 'Save settings');
  const form = el('form', { class: 'card', novalidate: true }, name.wrap, timeZone.wrap, zone.list, reminders.wrap, el('p', {}, save), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body: ClinicInput = { name: name.input.value.trim(), timeZone: timeZone.input.value.trim(), remindersEnabled: reminders.input.checked };
    save.disabled = true;
    const result = await api<Clinic>('PUT', '/api/v1/clinic', body);
    save.disabled = false;
    if (result.ok) {
      clearErrors([name, timeZone, reminders]);
      showDone(status, 'Settings saved.');
    } else showProblem(result.problem, [name, timeZone, reminders], status);
  });
  return form;
}
