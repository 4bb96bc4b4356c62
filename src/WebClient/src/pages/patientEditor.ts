import { api, type Contact, type ContactInput, type ContactRole, type Patient, type PatientInput } from '../api';
import { el } from '../dom';
import {
  checkbox, clearErrors, describeBy, errorSlot, field, selectInput, showDone, showProblem, statusLine, textInput, uniqueId,
  type ErrorSlot, type Field,
} from '../ui/forms';
import { showLoadProblem, staffPage } from '../ui/layout';

/** A contact's part of the form: a fieldset whose legend names it ("Contact 2"), so its labels stay short. */
interface ContactRow {
  id?: string;
  box: HTMLFieldSetElement;
  legend: HTMLLegendElement;
  name: Field<HTMLInputElement>;
  role: Field<HTMLSelectElement>;
  relationship: Field<HTMLInputElement>;
  email: Field<HTMLInputElement>;
  phone: Field<HTMLInputElement>;
  primary: Field<HTMLInputElement>;
  emailReminders: Field<HTMLInputElement>;
  smsReminders: Field<HTMLInputElement>;
  whole: ErrorSlot;
  remove: HTMLButtonElement;
}

type BlankContact = Omit<Contact, 'id'> & { id?: string };

function blankContact(first: boolean): BlankContact {
  return { name: '', email: null, phone: null, role: first ? 'patient' : 'caregiver', relationship: null, isPrimary: first, emailReminders: false, smsReminders: false };
}

/** A patient (`/patients/{id}`) or a new one (`/patients/new`); read-only for therapists. */
export async function renderPatientEditor(root: HTMLElement, params: Record<string, string>): Promise<void> {
  const id = params.id ?? null;
  const page = await staffPage(root, id ? 'Patient' : 'Add patient', id ? undefined : ['admin', 'scheduler']);
  if (!page) return;
  const { staff, main } = page;
  let patient: Patient | null = null;
  if (id) {
    const found = await api<Patient>('GET', `/api/v1/patients/${encodeURIComponent(id)}`);
    if (!found.ok) {
      showLoadProblem(main, found.problem);
      return;
    }
    patient = found.value;
  }
  const holder = el('div');
  main.append(holder, el('p', {}, el('a', { href: '/patients' }, 'Back to the patients')));
  showPatient(holder, patient, staff.role === 'therapist');
}

function showPatient(holder: HTMLElement, patient: Patient | null, readOnly: boolean, saved = false): void {
  const heading = holder.ownerDocument.querySelector('main h1');
  if (patient && heading) heading.textContent = patient.name;
  if (patient) document.title = `${patient.name} · Teletherapy`;
  const form = patientForm(patient, readOnly, (updated) => showPatient(holder, updated, readOnly, true));
  holder.replaceChildren(form.element);
  if (saved) {
    showDone(form.status, 'Patient saved.');
    form.status.focus();
  }
}

function patientForm(patient: Patient | null, readOnly: boolean, onSaved: (patient: Patient) => void): { element: HTMLFormElement; status: HTMLElement } {
  const name = field('Name', 'name', textInput(patient?.name ?? '', 'text', { autocomplete: 'off' }));
  const rows: ContactRow[] = [];
  const contactsBox = el('div', { class: 'contacts' });
  const contactsSlot = errorSlot('contacts');
  const status = statusLine();
  status.tabIndex = -1;
  const radioGroup = uniqueId('primary');

  const renumber = (): void => {
    rows.forEach((row, i) => setIndex(row, i));
    rows.forEach((row) => { row.remove.disabled = rows.length === 1; });
  };
  const add = (contact: BlankContact): ContactRow => {
    const row = contactRow(contact, radioGroup, readOnly);
    row.remove.addEventListener('click', () => {
      const at = rows.indexOf(row);
      rows.splice(at, 1);
      row.box.remove();
      renumber();
      (rows[Math.min(at, rows.length - 1)]?.name.input ?? addContact).focus();
    });
    rows.push(row);
    contactsBox.append(row.box);
    renumber();
    return row;
  };
  const addContact = el('button', { type: 'button', class: 'secondary' }, 'Add contact');
  addContact.addEventListener('click', () => add(blankContact(rows.length === 0)).name.input.focus());
  (patient && patient.contacts.length > 0 ? patient.contacts : [blankContact(true)]).forEach(add);

  const save = el('button', { type: 'submit' }, 'Save patient');
  const form = el('form', { class: 'card wide patient', novalidate: true },
    name.wrap,
    el('h2', {}, 'Contacts'),
    el('p', { class: 'hint' }, 'The patient and the people who come with them (parents, caregivers, interpreters). The primary contact and everyone with email reminders get the appointment emails.'),
    contactsSlot.error,
    contactsBox,
    ...(readOnly ? [el('p', { class: 'muted' }, 'Only admins and schedulers can change patients.')] : [el('p', { class: 'actions' }, addContact, save)]),
    status);
  if (readOnly) name.input.readOnly = true;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (readOnly) return;
    const slots: ErrorSlot[] = [name, contactsSlot, ...rows.flatMap(rowSlots)];
    clearErrors(slots);
    const body: PatientInput = { name: name.input.value.trim(), contacts: rows.map(contactInput) };
    save.disabled = true;
    status.classList.remove('error');
    status.textContent = 'Saving…';
    const result = patient
      ? await api<Patient>('PUT', `/api/v1/patients/${encodeURIComponent(patient.id)}`, body)
      : await api<Patient>('POST', '/api/v1/patients', body);
    save.disabled = false;
    if (!result.ok) showProblem(result.problem, slots, status);
    else if (!patient) window.location.assign(`/patients/${encodeURIComponent(result.value.id)}`);
    else onSaved(result.value);
  });
  return { element: form, status };
}

function contactRow(contact: BlankContact, radioGroup: string, readOnly: boolean): ContactRow {
  const text = (label: string, value: string | null, type = 'text', attrs: Record<string, string> = {}): Field<HTMLInputElement> =>
    field(label, '', textInput(value ?? '', type, { autocomplete: 'off', ...attrs }));
  const legend = el('legend', {});
  const row: ContactRow = {
    id: contact.id,
    box: el('fieldset', { class: 'contact' }),
    legend,
    name: text('Name', contact.name),
    role: field('Role', '', selectInput([['patient', 'The patient'], ['caregiver', 'Caregiver']], contact.role)),
    relationship: text('Relationship', contact.relationship, 'text', { placeholder: 'e.g. Mother, Interpreter', maxlength: '100' }),
    email: text('Email', contact.email, 'email'),
    phone: text('Phone', contact.phone, 'tel'),
    primary: checkbox('Primary contact', contact.isPrimary, '', 'radio', radioGroup),
    emailReminders: checkbox('Email reminders', contact.emailReminders),
    smsReminders: checkbox('SMS reminders', contact.smsReminders),
    whole: errorSlot(''),
    remove: el('button', { type: 'button', class: 'secondary remove' }, 'Remove contact'),
  };
  const smsHint = el('span', { class: 'hint', id: uniqueId('h') }, 'Text messages never contain a join link.');
  row.smsReminders.wrap.append(smsHint);
  describeBy(row.smsReminders.input, smsHint.id);
  row.box.append(
    legend, row.whole.error,
    row.name.wrap, row.role.wrap, row.relationship.wrap, row.email.wrap, row.phone.wrap,
    el('div', { class: 'checks' }, row.primary.wrap, row.emailReminders.wrap, row.smsReminders.wrap),
    ...(readOnly ? [] : [el('p', { class: 'remove-row' }, row.remove)]),
  );
  if (readOnly) {
    for (const f of [row.name, row.relationship, row.email, row.phone]) f.input.readOnly = true;
    for (const f of [row.role, row.primary, row.emailReminders, row.smsReminders]) f.input.disabled = true;
  }
  return row;
}

/** Names the row after its place ("Contact 2") and points its fields at the API's names (`contacts[1].email`). */
function setIndex(row: ContactRow, index: number): void {
  row.legend.textContent = `Contact ${index + 1}`;
  const prefix = `contacts[${index}]`;
  row.whole.field = prefix;
  row.name.field = `${prefix}.name`;
  row.role.field = `${prefix}.role`;
  row.relationship.field = `${prefix}.relationship`;
  row.email.field = `${prefix}.email`;
  row.phone.field = `${prefix}.phone`;
  row.primary.field = `${prefix}.isPrimary`;
  row.emailReminders.field = `${prefix}.emailReminders`;
  row.smsReminders.field = `${prefix}.smsReminders`;
  // Messages about the contact's id (e.g. it is gone) are shown at the top of the contact.
  row.whole.controls = [row.name.input];
}

function rowSlots(row: ContactRow): ErrorSlot[] {
  const idSlot: ErrorSlot = { field: `${row.whole.field}.id`, error: row.whole.error, controls: row.whole.controls };
  return [row.whole, idSlot, row.name, row.role, row.relationship, row.email, row.phone, row.primary, row.emailReminders, row.smsReminders];
}

function optional(input: HTMLInputElement): string | null {
  const value = input.value.trim();
  return value === '' ? null : value;
}

function contactInput(row: ContactRow): ContactInput {
  return {
    ...(row.id ? { id: row.id } : {}),
    name: row.name.input.value.trim(),
    role: row.role.input.value as ContactRole,
    relationship: optional(row.relationship.input),
    email: optional(row.email.input),
    phone: optional(row.phone.input),
    isPrimary: row.primary.input.checked,
    emailReminders: row.emailReminders.input.checked,
    smsReminders: row.smsReminders.input.checked,
  };
}
