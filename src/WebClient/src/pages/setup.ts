import { api, type SetupInput, type StaffMember } from '../api';
import { el } from '../dom';
import { browserTimeZone } from '../timeZones';
import { field, showProblem, statusLine, textInput, timeZoneInput, type Field } from '../ui/forms';

/**
 * The one-time setup of a new installation (shown on `/` while no staff account exists): the clinic and its
 * first admin; button Create clinic. `onTaken` shows the sign-in form when someone else finished setup first.
 */
export function renderSetup(main: HTMLElement, onTaken: () => void): void {
  document.title = 'Set up your clinic · Teletherapy';
  const zone = timeZoneInput(browserTimeZone());
  const fields: Record<keyof SetupInput, Field> = {
    clinicName: field('Clinic name', 'clinicName', textInput('', 'text', { autocomplete: 'organization' })),
    timeZone: field('Time zone', 'timeZone', zone.input, 'An IANA name such as Europe/Berlin; appointment times and emails use it.'),
    name: field('Your name', 'name', textInput('', 'text', { autocomplete: 'name' })),
    email: field('Email', 'email', textInput('', 'email', { autocomplete: 'username' })),
    password: field('Password', 'password', textInput('', 'password', { autocomplete: 'new-password' }), 'At least 8 characters.'),
  };
  const status = statusLine();
  const submit = el('button', { type: 'submit' }, 'Create clinic');
  const form = el(
    'form',
    { class: 'card', 'aria-labelledby': 'setup-title', novalidate: true },
    el('h1', { id: 'setup-title' }, 'Set up your clinic'),
    el('p', { class: 'muted' }, 'This page is shown once, before the first staff account exists. You become the clinic’s admin and can add the other staff afterwards.'),
    ...Object.values(fields).map((f) => f.wrap),
    zone.list,
    el('p', {}, submit),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const body: SetupInput = {
      clinicName: fields.clinicName.input.value.trim(),
      timeZone: fields.timeZone.input.value.trim(),
      name: fields.name.input.value.trim(),
      email: fields.email.input.value.trim(),
      password: fields.password.input.value,
    };
    const result = await api<StaffMember>('POST', '/api/v1/setup', body);
    submit.disabled = false;
    if (result.ok) window.location.assign('/schedule/calendar');
    else if (result.problem.status === 409) onTaken();
    else showProblem(result.problem, Object.values(fields), status);
  });
  main.replaceChildren(form);
  fields.clinicName.input.focus();
}
