import { api, type AppointmentDetail, type AppointmentEmail, type AuditEntry, type Clinic, type Contact, type Patient, type StaffAccount, type StaffMember, type Therapist } from '../api';
import { el } from '../dom';
import { checkbox, clinicTime, field, showProblem, textInput, zonedIso, zonedParts, type Field } from '../ui/forms';
import { pageShell, requireStaff, staffHeader } from '../ui/layout';

/** Signs in the staff member and lays out the page; null (after a redirect) when not signed in. */
async function staffPage(root: HTMLElement, title: string): Promise<{ staff: StaffMember; main: HTMLElement } | null> {
  document.title = `${title} · Teletherapy`;
  const staff = await requireStaff();
  if (!staff) return null;
  const main = pageShell(root, staffHeader(staff));
  main.append(el('h1', {}, title));
  return { staff, main };
}

function noAccess(main: HTMLElement): void {
  main.append(el('p', { role: 'status' }, 'You do not have access to this page.'));
}

// ---- first run ---------------------------------------------------------------------------------

/** The one-time setup of a new installation: the clinic and its first admin; button Create clinic. */
export function renderSetup(main: HTMLElement, onTaken: () => void): void {
  document.title = 'Set up your clinic · Teletherapy';
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'Europe/Berlin';
  const zoneInput = textInput(zone);
  zoneInput.setAttribute('list', 'time-zones');
  const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  const fields = [
    field('Clinic name', 'clinicName', textInput()),
    field('Time zone', 'timeZone', zoneInput),
    field('Your name', 'name', textInput()),
    field('Email', 'email', textInput('', 'email')),
    field('Password', 'password', textInput('', 'password')),
  ];
  fields[4].input.setAttribute('autocomplete', 'new-password');
  const status = el('p', { role: 'status', class: 'error' });
  const submit = el('button', { type: 'submit' }, 'Create clinic');
  const form = el('form', { class: 'card', 'aria-labelledby': 'setup-title' },
    el('h1', { id: 'setup-title' }, 'Set up your clinic'),
    el('p', { class: 'muted' }, 'This page is shown once, before the first account exists. You become the clinic’s admin.'),
    ...fields.map((f) => f.wrap),
    el('datalist', { id: 'time-zones' }, ...zones.map((z) => el('option', { value: z }))),
    el('p', {}, submit), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const [clinicName, timeZone, name, email, password] = fields.map((f) => f.input.value);
    const result = await api<StaffMember>('POST', '/api/v1/setup', { clinicName, timeZone, name, email, password });
    submit.disabled = false;
    if (result.ok) window.location.assign('/schedule/calendar');
    else if (result.problem.status === 409) onTaken();
    else showProblem(result.problem, fields, status);
  });
  main.replaceChildren(form);
  fields[0].input.focus();
}

// ---- appointments ------------------------------------------------------------------------------

/** New appointment or a change of one occurrence (start, duration, therapists). */
export async function renderAppointmentEditor(root: HTMLElement, params: Record<string, string>): Promise<void> {
  const editing = params.id;
  const page = await staffPage(root, editing ? 'Change appointment' : 'New appointment');
  if (!page) return;
  const { staff, main } = page;
  const [clinic, therapists, existing] = await Promise.all([
    api<Clinic>('GET', '/api/v1/clinic'),
    api<Therapist[]>('GET', '/api/v1/therapists'),
    editing ? api<AppointmentDetail>('GET', `/api/v1/appointments/${encodeURIComponent(editing)}`) : Promise.resolve(null),
  ]);
  if (!clinic.ok || !therapists.ok || (existing && !existing.ok)) {
    noAccess(main);
    return;
  }
  const zone = clinic.value.timeZone;
  const status = el('p', { role: 'status', class: 'error' });

  // Patient: search as you type.
  let patientId = existing?.ok ? existing.value.patientId : '';
  const patientInput = textInput(existing?.ok ? existing.value.patientName : '');
  patientInput.setAttribute('autocomplete', 'off');
  patientInput.setAttribute('role', 'combobox');
  patientInput.setAttribute('aria-expanded', 'false');
  const patientField = field('Patient', 'patientId', patientInput);
  const matches = el('ul', { class: 'matches', role: 'listbox', 'aria-label': 'Matching patients' });
  patientInput.setAttribute('aria-controls', 'patient-matches');
  matches.id = 'patient-matches';
  patientField.wrap.append(matches);
  if (editing) patientInput.disabled = true;
  let timer = 0;
  patientInput.addEventListener('input', () => {
    patientId = '';
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const found = await api<Patient[]>('GET', `/api/v1/patients?search=${encodeURIComponent(patientInput.value)}`);
      const list = found.ok ? found.value.slice(0, 10) : [];
      matches.replaceChildren(...list.map((p) => {
        const option = el('li', { role: 'option', tabindex: '0', 'aria-selected': 'false' }, p.name);
        const choose = (): void => {
          patientId = p.id;
          patientInput.value = p.name;
          matches.replaceChildren();
          patientInput.setAttribute('aria-expanded', 'false');
        };
        option.addEventListener('click', choose);
        option.addEventListener('keydown', (e) => { if (e.key === 'Enter') choose(); });
        return option;
      }));
      patientInput.setAttribute('aria-expanded', list.length > 0 ? 'true' : 'false');
    }, 200);
  });

  const listed = new Set(existing?.ok ? existing.value.therapistIds : staff.role === 'therapist' ? [staff.id] : []);
  const therapistBoxes = therapists.value.map((t) => ({ id: t.id, box: checkbox(t.name, listed.has(t.id)) }));
  const therapistsError = el('span', { class: 'field-error', role: 'alert' });
  const therapistSet = el('fieldset', {}, el('legend', {}, 'Therapists'), ...therapistBoxes.map((t) => t.box.wrap), therapistsError);

  const now = new Date(Date.now() + 3600_000);
  const initial = existing?.ok ? zonedParts(existing.value.start, zone) : { date: zonedParts(now.toISOString(), zone).date, time: '09:00' };
  const date = field('Date', 'start', textInput(initial.date, 'date'));
  const time = field(`Start time (${zone})`, 'start-time', textInput(initial.time, 'time'));
  const minutes = existing?.ok ? Math.round((Date.parse(existing.value.end) - Date.parse(existing.value.start)) / 60000) : 50;
  const duration = field('Duration (minutes)', 'durationMinutes', textInput(String(minutes), 'number'));
  const teletherapy = checkbox('Teletherapy', existing?.ok ? existing.value.teletherapy : true, 'teletherapy');
  const repeatSelect = el('select', {}, el('option', { value: 'none' }, 'Does not repeat'), el('option', { value: 'days' }, 'Every N days'), el('option', { value: 'weeks' }, 'Every N weeks'));
  const repeat = field('Repeat', 'repeat', repeatSelect);
  const every = field('Every', 'repeat.intervalDays', textInput('1', 'number'));
  const count = field('Occurrences', 'repeat.count', textInput('3', 'number'));
  const repeatDetails = el('div', { class: 'row', hidden: true }, every.wrap, count.wrap);
  repeatSelect.addEventListener('change', () => { repeatDetails.hidden = repeatSelect.value === 'none'; });
  const fields: Field[] = [patientField, date, time, duration, teletherapy, repeat, every, count];

  const submit = el('button', { type: 'submit' }, 'Save appointment');
  const form = el('form', { class: 'card wide' },
    patientField.wrap, therapistSet, el('div', { class: 'row' }, date.wrap, time.wrap, duration.wrap),
    ...(editing ? [el('p', { class: 'muted' }, 'The contacts get an email with the new time and a new link; links sent earlier stop working.')] : [teletherapy.wrap, repeat.wrap, repeatDetails]),
    el('p', {}, submit), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const start = zonedIso(date.input.value, time.input.value, zone);
    const therapistIds = therapistBoxes.filter((t) => (t.box.input as HTMLInputElement).checked).map((t) => t.id);
    therapistsError.textContent = therapistIds.length === 0 ? 'Choose at least one therapist.' : '';
    if (!editing && !patientId) {
      patientField.error.textContent = 'Choose a patient from the list.';
      return;
    }
    if (!start || therapistIds.length === 0) {
      if (!start) date.error.textContent = 'Give a date and a time.';
      return;
    }
    submit.disabled = true;
    const repeatBody = repeatSelect.value === 'none' ? undefined
      : { count: Number(count.input.value), intervalDays: Number(every.input.value) * (repeatSelect.value === 'weeks' ? 7 : 1) };
    const result = editing
      ? await api<{ id: string }>('PUT', `/api/v1/appointments/${encodeURIComponent(editing)}`, { start, durationMinutes: Number(duration.input.value), therapistIds })
      : await api<{ id: string }>('POST', '/api/v1/appointments', {
        patientId, therapistIds, start, durationMinutes: Number(duration.input.value), teletherapy: (teletherapy.input as HTMLInputElement).checked, repeat: repeatBody,
      });
    submit.disabled = false;
    if (result.ok) window.location.assign(`/schedule/appointments/${encodeURIComponent(result.value.id)}`);
    else showProblem(result.problem, fields, status);
  });
  main.append(form);
}

const emailKinds: Record<string, string> = { scheduled: 'Scheduled appointment', rescheduled: 'Moved appointment', reminder: 'Reminder', cancelled: 'Cancellation' };

/** Audit events in words. */
function auditWords(e: AuditEntry): string {
  const who = e.actorName ?? (e.actorKind === 'integrator' ? 'The practice system' : e.actorKind === 'system' ? 'The system' : 'Someone');
  const whom = e.subjectName ?? 'a participant';
  const reason = e.reason ? ` (${e.reason.replace(/-/g, ' ')})` : '';
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
    case 'ended': return `The session ended${reason}`;
    case 'removed': return `${whom} was sent away by a change to the appointment${reason}`;
    case 'join-refused': return `Join refused for ${who}${reason}`;
    default: return `${e.kind}${reason}`;
  }
}

/** Appointment details: status, emails sent, audit trail, minutes, Cancel appointment. */
export async function renderAppointmentDetails(root: HTMLElement, params: Record<string, string>): Promise<void> {
  const page = await staffPage(root, 'Appointment');
  if (!page) return;
  const { main } = page;
  const id = encodeURIComponent(params.id);
  const found = await api<AppointmentDetail>('GET', `/api/v1/appointments/${id}`);
  if (!found.ok) {
    noAccess(main);
    return;
  }
  const a = found.value;
  const [emails, audit, minutes] = await Promise.all([
    api<AppointmentEmail[]>('GET', `/api/v1/appointments/${id}/emails`),
    api<AuditEntry[]>('GET', `/api/v1/appointments/${id}/audit`),
    api<{ minutes: number }>('GET', `/api/v1/appointments/${id}/minutes`),
  ]);
  const statusLine = el('p', { id: 'appointment-status', role: 'status' }, `Status: ${a.status}`);
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Patient'), el('dd', {}, a.patientName),
    el('dt', {}, 'When'), el('dd', {}, clinicTime(a.start, a.timeZone)),
    el('dt', {}, 'Therapists'), el('dd', {}, a.therapists.map((t) => t.name).join(', ')),
    el('dt', {}, 'Kind'), el('dd', {}, a.teletherapy ? 'Teletherapy (video)' : 'In person'),
    ...(a.seriesId ? [el('dt', {}, 'Series'), el('dd', {}, `Occurrence ${a.seriesIndex + 1}`)] : []));
  const actions = el('div', { class: 'actions' });
  if (a.status === 'scheduled') {
    const cancel = el('button', { type: 'button', class: 'danger' }, 'Cancel appointment');
    const confirmBox = el('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Confirm cancellation' },
      el('p', {}, 'Cancel this appointment? Its join links stop working and the contacts are emailed.'));
    const yes = el('button', { type: 'button', class: 'danger' }, 'Yes, cancel the appointment');
    const no = el('button', { type: 'button', class: 'secondary' }, 'Keep the appointment');
    confirmBox.append(yes, no);
    cancel.addEventListener('click', () => { confirmBox.hidden = false; yes.focus(); });
    no.addEventListener('click', () => { confirmBox.hidden = true; cancel.focus(); });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      const result = await api('POST', `/api/v1/appointments/${id}/cancel`);
      if (result.ok) await renderAppointmentDetails(root, params);
      else statusLine.textContent = 'The appointment could not be cancelled.';
    });
    actions.append(el('a', { href: `/schedule/appointments/${id}/edit`, class: 'button' }, 'Change appointment'), cancel, confirmBox);
  }
  const sections: HTMLElement[] = [statusLine, facts, actions];
  if (emails.ok) {
    sections.push(el('section', { 'aria-labelledby': 'emails-title' }, el('h2', { id: 'emails-title' }, 'Emails sent'),
      emails.value.length === 0 ? el('p', { class: 'muted' }, 'No emails.')
        : el('ul', { class: 'plain' }, ...emails.value.map((m) => el('li', {}, `${emailKinds[m.kind] ?? m.kind} to ${m.recipientName ?? m.recipient} (${m.recipient}) — ${m.status}`)))));
  }
  if (minutes.ok) sections.push(el('p', {}, `Face-to-face minutes: ${minutes.value.minutes}`));
  if (audit.ok) {
    sections.push(el('section', { 'aria-labelledby': 'audit-title' }, el('h2', { id: 'audit-title' }, 'Audit trail'),
      audit.value.length === 0 ? el('p', { class: 'muted' }, 'Nothing recorded yet.')
        : el('ol', { class: 'plain' }, ...audit.value.map((e) => el('li', {}, `${clinicTime(e.at, a.timeZone).replace(/ \(.*\)$/, '')}: ${auditWords(e)}`)))));
  }
  main.append(...sections);
}

// ---- patients ----------------------------------------------------------------------------------

export async function renderPatients(root: HTMLElement): Promise<void> {
  const page = await staffPage(root, 'Patients');
  if (!page) return;
  const { staff, main } = page;
  const search = field('Search patients', 'search', textInput('', 'search'));
  const list = el('ul', { class: 'plain patients', 'aria-label': 'Patients' });
  const status = el('p', { role: 'status', class: 'muted' });
  const load = async (): Promise<void> => {
    const result = await api<Patient[]>('GET', `/api/v1/patients?search=${encodeURIComponent(search.input.value)}`);
    if (!result.ok) { status.textContent = 'The patients could not be loaded.'; return; }
    status.textContent = result.value.length === 0 ? 'No patients found.' : `${result.value.length} patients.`;
    list.replaceChildren(...result.value.map((p) => {
      const primary = p.contacts.find((c) => c.isPrimary);
      return el('li', {}, el('a', { href: `/patients/${encodeURIComponent(p.id)}` }, p.name), primary ? el('span', { class: 'muted' }, ` — ${primary.name}${primary.email ? `, ${primary.email}` : ''}`) : '');
    }));
  };
  let timer = 0;
  search.input.addEventListener('input', () => { window.clearTimeout(timer); timer = window.setTimeout(() => void load(), 200); });
  if (staff.role !== 'therapist') main.append(el('p', {}, el('a', { href: '/patients/new', class: 'button' }, 'Add patient')));
  main.append(search.wrap, status, list);
  await load();
}

function blankContact(primary: boolean): Contact {
  return { name: '', email: null, phone: null, relationship: null, isPrimary: primary, emailReminders: false, smsReminders: false };
}

export async function renderPatientEditor(root: HTMLElement, params: Record<string, string>): Promise<void> {
  const page = await staffPage(root, params.id ? 'Patient' : 'Add patient');
  if (!page) return;
  const { staff, main } = page;
  let patient: Patient | null = null;
  if (params.id) {
    const found = await api<Patient>('GET', `/api/v1/patients/${encodeURIComponent(params.id)}`);
    if (!found.ok) { noAccess(main); return; }
    patient = found.value;
  }
  const readOnly = staff.role === 'therapist';
  const name = field('Name', 'name', textInput(patient?.name ?? ''));
  const contactsBox = el('div', { class: 'contacts' });
  const contactsError = el('span', { class: 'field-error', role: 'alert' });
  const status = el('p', { role: 'status', class: 'error' });
  type Row = { id?: string; fields: Field[]; box: HTMLFieldSetElement; primary: HTMLInputElement; email: Field; sms: Field };
  const rows: Row[] = [];
  const renumber = (): void => rows.forEach((r, i) => {
    r.box.querySelector('legend')!.textContent = `Contact ${i + 1}`;
    r.fields.forEach((f) => { f.field = f.field.replace(/^contacts\[\d+\]/, `contacts[${i}]`); });
  });
  const addRow = (c: Contact): void => {
    const i = rows.length;
    const f = (label: string, key: string, value: string | null, type = 'text'): Field => field(label, `contacts[${i}].${key}`, textInput(value ?? '', type));
    const cName = f('Name', 'name', c.name);
    const relationship = f('Relationship', 'relationship', c.relationship);
    const email = f('Email', 'email', c.email, 'email');
    const phone = f('Phone', 'phone', c.phone, 'tel');
    const primary = el('input', { type: 'radio', name: 'primary-contact' });
    primary.checked = c.isPrimary;
    const primaryId = `primary-${Math.random().toString(36).slice(2)}`;
    primary.id = primaryId;
    const emailReminders = checkbox('Email reminders', c.emailReminders, `contacts[${i}].emailReminders`);
    const sms = checkbox('SMS reminders', c.smsReminders, `contacts[${i}].smsReminders`);
    const remove = el('button', { type: 'button', class: 'secondary' }, 'Remove contact');
    const box = el('fieldset', { class: 'contact' }, el('legend', {}, `Contact ${i + 1}`), cName.wrap, relationship.wrap, email.wrap, phone.wrap,
      el('div', { class: 'field check' }, primary, el('label', { for: primaryId }, 'Primary contact')), emailReminders.wrap, sms.wrap, ...(readOnly ? [] : [remove]));
    const row: Row = { id: c.id, fields: [cName, relationship, email, phone, emailReminders, sms], box, primary, email: emailReminders, sms };
    remove.addEventListener('click', () => { rows.splice(rows.indexOf(row), 1); box.remove(); renumber(); });
    rows.push(row);
    contactsBox.append(box);
  };
  (patient?.contacts.length ? patient.contacts : [blankContact(true)]).forEach(addRow);
  const addContact = el('button', { type: 'button', class: 'secondary' }, 'Add contact');
  addContact.addEventListener('click', () => { addRow(blankContact(rows.length === 0)); rows[rows.length - 1].fields[0].input.focus(); });
  const save = el('button', { type: 'submit' }, 'Save patient');
  const form = el('form', { class: 'card wide' }, name.wrap, el('h2', {}, 'Contacts'), contactsBox, contactsError,
    ...(readOnly ? [] : [el('p', {}, addContact), el('p', {}, save)]), status);
  if (readOnly) form.querySelectorAll('input').forEach((input) => { input.disabled = true; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = (f: Field): string | null => (f.input.value.trim() === '' ? null : f.input.value.trim());
    const body = {
      name: name.input.value,
      contacts: rows.map((r) => ({
        id: r.id, name: r.fields[0].input.value, relationship: value(r.fields[1]), email: value(r.fields[2]), phone: value(r.fields[3]),
        isPrimary: r.primary.checked, emailReminders: (r.email.input as HTMLInputElement).checked, smsReminders: (r.sms.input as HTMLInputElement).checked,
      })),
    };
    save.disabled = true;
    const result = patient
      ? await api<Patient>('PUT', `/api/v1/patients/${encodeURIComponent(patient.id)}`, body)
      : await api<Patient>('POST', '/api/v1/patients', body);
    save.disabled = false;
    if (result.ok) {
      if (!patient) { window.location.assign(`/patients/${encodeURIComponent(result.value.id)}`); return; }
      status.classList.remove('error');
      status.textContent = 'Saved.';
      return;
    }
    contactsError.textContent = result.problem.errors?.contacts?.join(' ') ?? '';
    showProblem(result.problem, [name, ...rows.flatMap((r) => r.fields)], status);
  });
  main.append(form);
}

// ---- clinic and staff (admins) ---------------------------------------------------------------

export async function renderClinicSettings(root: HTMLElement): Promise<void> {
  const page = await staffPage(root, 'Clinic settings');
  if (!page) return;
  const { staff, main } = page;
  const clinic = await api<Clinic>('GET', '/api/v1/clinic');
  if (staff.role !== 'admin' || !clinic.ok) { noAccess(main); return; }
  const name = field('Clinic name', 'name', textInput(clinic.value.name));
  const zone = field('Time zone', 'timeZone', textInput(clinic.value.timeZone));
  const reminders = checkbox('Appointment reminders (email 24 hours before)', clinic.value.remindersEnabled, 'remindersEnabled');
  const status = el('p', { role: 'status' });
  const save = el('button', { type: 'submit' }, 'Save settings');
  const form = el('form', { class: 'card' }, name.wrap, zone.wrap, reminders.wrap, el('p', {}, save), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = await api<Clinic>('PUT', '/api/v1/clinic', { name: name.input.value, timeZone: zone.input.value, remindersEnabled: (reminders.input as HTMLInputElement).checked });
    if (result.ok) status.textContent = 'Settings saved.';
    else showProblem(result.problem, [name, zone, reminders], status);
  });
  main.append(form);
}

const roleNames: Record<string, string> = { admin: 'Admin', scheduler: 'Scheduler', therapist: 'Therapist' };

function roleSelect(value: string): HTMLSelectElement {
  const select = el('select', {}, ...Object.entries(roleNames).map(([v, label]) => el('option', { value: v }, label)));
  select.value = value;
  return select;
}

export async function renderStaff(root: HTMLElement): Promise<void> {
  const page = await staffPage(root, 'Staff');
  if (!page) return;
  const { staff, main } = page;
  if (staff.role !== 'admin') { noAccess(main); return; }
  const table = el('table', { class: 'staff' });
  const status = el('p', { role: 'status' });
  const load = async (): Promise<void> => {
    const result = await api<StaffAccount[]>('GET', '/api/v1/staff');
    if (!result.ok) { status.textContent = 'The staff could not be loaded.'; return; }
    table.replaceChildren(el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', {}, 'Email'), el('th', {}, 'Role'), el('th', {}, 'Active'))),
      el('tbody', {}, ...result.value.map((s) => {
        const role = roleSelect(s.role);
        role.setAttribute('aria-label', `Role of ${s.name}`);
        role.addEventListener('change', async () => {
          const changed = await api('PUT', `/api/v1/staff/${encodeURIComponent(s.id)}`, { role: role.value });
          status.textContent = changed.ok ? `${s.name} is now ${roleNames[role.value]}.` : (changed.problem.detail ?? 'The role could not be changed.');
          if (!changed.ok) role.value = s.role;
        });
        const toggle = el('button', { type: 'button', class: 'secondary', 'aria-label': `${s.active ? 'Deactivate' : 'Reactivate'} ${s.name}` }, s.active ? 'Deactivate' : 'Reactivate');
        toggle.addEventListener('click', async () => {
          const changed = await api('PUT', `/api/v1/staff/${encodeURIComponent(s.id)}`, { active: !s.active });
          status.textContent = changed.ok ? `${s.name} is ${s.active ? 'deactivated' : 'active again'}.` : (changed.problem.detail ?? 'That did not work.');
          await load();
        });
        return el('tr', {}, el('td', {}, s.name), el('td', {}, s.email), el('td', {}, role), el('td', {}, s.active ? 'Yes ' : 'No ', toggle));
      })));
  };
  const fields = [field('Name', 'name', textInput()), field('Email', 'email', textInput('', 'email')), field('Password', 'password', textInput('', 'password')), field('Role', 'role', roleSelect('therapist'))];
  const addStatus = el('p', { role: 'status', class: 'error' });
  const add = el('button', { type: 'submit' }, 'Add staff member');
  const form = el('form', { class: 'card', 'aria-labelledby': 'add-staff-title' }, el('h2', { id: 'add-staff-title' }, 'New staff member'), ...fields.map((f) => f.wrap), el('p', {}, add), addStatus);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const [name, email, password, role] = fields.map((f) => f.input.value);
    const result = await api('POST', '/api/v1/staff', { name, email, password, role });
    if (!result.ok) { showProblem(result.problem, fields, addStatus); return; }
    addStatus.textContent = '';
    fields.slice(0, 3).forEach((f) => { f.input.value = ''; f.error.textContent = ''; });
    status.textContent = `${name} was added.`;
    await load();
  });
  main.append(status, table, form);
  await load();
}
