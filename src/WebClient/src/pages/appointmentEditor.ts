import {
  api, type ApiResult, type AppointmentCreated, type AppointmentDetails, type AppointmentInput, type Clinic, type RescheduleInput,
  type StaffMember, type Therapist,
} from '../api';
import { el } from '../dom';
import { isoToLocal, localToIso } from '../timeZones';
import {
  checkbox, clearErrors, describeBy, errorSlot, field, localProblem, numberInput, selectInput, showProblem, statusLine, textInput,
  type ErrorSlot, type Field,
} from '../ui/forms';
import { showLoadProblem, staffPage } from '../ui/layout';
import { patientPicker } from '../ui/patientSearch';

const DefaultMinutes = 50;

interface EditorData {
  clinic: Clinic;
  therapists: Therapist[];
  existing: AppointmentDetails | null;
}

/** New appointment (`/schedule/appointments/new`) or a change of one occurrence (`/schedule/appointments/{id}/edit`). */
export async function renderAppointmentEditor(root: HTMLElement, params: Record<string, string>): Promise<void> {
  const editing = params.id ?? null;
  const page = await staffPage(root, editing ? 'Change appointment' : 'New appointment');
  if (!page) return;
  const data = await loadEditorData(editing);
  if (!data.ok) {
    showLoadProblem(page.main, data.problem);
    return;
  }
  const { existing } = data.value;
  if (existing && existing.status !== 'scheduled') {
    page.main.append(
      el('p', { role: 'status', class: 'notice' }, `This appointment is ${existing.status} and can no longer be changed.`),
      el('p', {}, el('a', { href: detailsPath(existing.id) }, 'Back to the appointment')),
    );
    return;
  }
  page.main.append(existing ? rescheduleForm(data.value, existing) : newAppointmentForm(data.value, page.staff));
}

async function loadEditorData(id: string | null): Promise<ApiResult<EditorData>> {
  const [clinic, therapists, existing] = await Promise.all([
    api<Clinic>('GET', '/api/v1/clinic'),
    api<Therapist[]>('GET', '/api/v1/therapists'),
    id ? api<AppointmentDetails>('GET', `/api/v1/appointments/${encodeURIComponent(id)}`) : Promise.resolve(null),
  ]);
  if (existing && !existing.ok) return existing;
  if (!clinic.ok) return clinic;
  if (!therapists.ok) return therapists;
  return { ok: true, value: { clinic: clinic.value, therapists: therapists.value, existing: existing?.ok ? existing.value : null } };
}

function detailsPath(id: string): string {
  return `/schedule/appointments/${encodeURIComponent(id)}`;
}

// ---- the parts of the form ----------------------------------------------------------------------

interface TherapistChoice {
  fieldset: HTMLFieldSetElement;
  slot: ErrorSlot;
  checked(): string[];
}

/** One checkbox per therapist, labelled with the name. */
function therapistChoice(therapists: Therapist[], checked: Set<string>, hint: string | null): TherapistChoice {
  const boxes = therapists.map((t) => ({ id: t.id, box: checkbox(t.name, checked.has(t.id)) }));
  const slot = errorSlot('therapistIds', boxes.map((b) => b.box.input));
  const fieldset = el(
    'fieldset',
    { class: 'choices' },
    el('legend', {}, 'Therapists'),
    ...(hint ? [el('p', { class: 'hint' }, hint)] : []),
    ...(boxes.length === 0 ? [el('p', { class: 'muted' }, 'No active therapist can be listed. An admin adds therapists on the Staff page.')] : boxes.map((b) => b.box.wrap)),
    slot.error,
  );
  return { fieldset, slot, checked: () => boxes.filter((b) => b.box.input.checked).map((b) => b.id) };
}

interface StartFields {
  fieldset: HTMLFieldSetElement;
  slots: ErrorSlot[];
  /** The start as ISO 8601 with the clinic zone's offset, or the problem in words. */
  value(): { iso: string } | { error: string };
}

/** Date and time on the clinic's clock (its zone named beside them). */
function startFields(zone: string, initial: { date: string; time: string }): StartFields {
  const date = field('Date', '', textInput(initial.date, 'date'));
  const time = field(`Start time (${zone})`, '', textInput(initial.time, 'time'));
  const slot = errorSlot('start', [date.input, time.input]);
  const fieldset = el(
    'fieldset',
    { class: 'start' },
    el('legend', {}, 'Start'),
    el('p', { class: 'hint' }, 'In the clinic’s time zone, ', el('strong', { class: 'zone' }, zone), '.'),
    el('div', { class: 'row' }, date.wrap, time.wrap),
    slot.error,
  );
  const value = (): { iso: string } | { error: string } => {
    const local = localToIso(date.input.value, time.input.value, zone);
    if (local.ok) return { iso: local.iso };
    return { error: local.reason === 'skipped' ? `That time does not exist in ${zone} (the clocks go forward then). Choose another time.` : 'Give a date and a time.' };
  };
  return { fieldset, slots: [slot, date, time], value };
}

interface RepeatFields {
  wrap: HTMLElement;
  slots: ErrorSlot[];
  value(): AppointmentInput['repeat'];
}

/** Repeat: does not repeat, every N days or every N weeks, N occurrences in all. */
function repeatFields(): RepeatFields {
  const kind = field('Repeat', 'repeat', selectInput([['none', 'Does not repeat'], ['days', 'Every N days'], ['weeks', 'Every N weeks']], 'none'));
  const unit = el('span', { class: 'unit', id: `${kind.input.id}-unit` }, 'days');
  const every = field('Every', 'repeat.intervalDays', numberInput(1, 1));
  describeBy(every.input, unit.id);
  const withUnit = el('span', { class: 'with-unit' });
  every.input.replaceWith(withUnit);
  withUnit.append(every.input, unit);
  const count = field('Occurrences', 'repeat.count', numberInput(3, 1), 'How many appointments in all, this one included.');
  const details = el('div', { class: 'row', hidden: true }, every.wrap, count.wrap);
  kind.input.addEventListener('change', () => {
    details.hidden = kind.input.value === 'none';
    unit.textContent = kind.input.value === 'weeks' ? 'weeks' : 'days';
  });
  const value = (): AppointmentInput['repeat'] => kind.input.value === 'none'
    ? undefined
    : { count: Number(count.input.value), intervalDays: Number(every.input.value) * (kind.input.value === 'weeks' ? 7 : 1) };
  return { wrap: el('div', { class: 'repeat' }, kind.wrap, details), slots: [kind, every, count], value };
}

function durationField(minutes: number): Field<HTMLInputElement> {
  return field('Duration (minutes)', 'durationMinutes', numberInput(minutes, 1));
}

/** A submit handler's common part: checks in the browser first, then the request, then the next page or the problems. */
async function submitWith<T>(
  submit: HTMLButtonElement, slots: ErrorSlot[], status: HTMLElement, localErrors: Record<string, string[]>,
  send: () => Promise<ApiResult<T>>, next: (value: T) => string,
): Promise<void> {
  clearErrors(slots);
  if (Object.keys(localErrors).length > 0) {
    showProblem(localProblem(localErrors), slots, status);
    return;
  }
  submit.disabled = true;
  status.classList.remove('error');
  status.textContent = 'Saving…';
  const result = await send();
  submit.disabled = false;
  if (result.ok) window.location.assign(next(result.value));
  else showProblem(result.problem, slots, status);
}

// ---- the two forms ------------------------------------------------------------------------------

function newAppointmentForm(data: EditorData, staff: StaffMember): HTMLFormElement {
  const zone = data.clinic.timeZone;
  const patient = patientPicker();
  const therapists = therapistChoice(data.therapists, new Set(staff.role === 'therapist' ? [staff.id] : []),
    staff.role === 'therapist' ? 'You are listed on the appointments you book.' : null);
  const start = startFields(zone, { date: isoToLocal(new Date(Date.now() + 86_400_000).toISOString(), zone).date, time: '09:00' });
  const duration = durationField(DefaultMinutes);
  const teletherapy = checkbox('Teletherapy', true, 'teletherapy');
  const teleHint = el('span', { class: 'hint', id: `${teletherapy.input.id}-hint` }, 'A video session: the contacts get a join link by email.');
  describeBy(teletherapy.input, teleHint.id);
  teletherapy.wrap.append(teleHint);
  const repeat = repeatFields();
  const slots: ErrorSlot[] = [patient.field, therapists.slot, ...start.slots, duration, teletherapy, ...repeat.slots];
  const status = statusLine();
  const submit = el('button', { type: 'submit' }, 'Save appointment');
  const form = el('form', { class: 'card wide', novalidate: true },
    patient.field.wrap, therapists.fieldset, start.fieldset, duration.wrap, teletherapy.wrap, repeat.wrap,
    el('p', { class: 'actions' }, submit, el('a', { href: '/schedule/calendar' }, 'Back to the calendar')), status);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const startValue = start.value();
    const errors: Record<string, string[]> = {};
    if (!patient.chosen()) errors.patientId = ['Choose a patient from the list of matches.'];
    if (therapists.checked().length === 0) errors.therapistIds = ['Choose at least one therapist.'];
    if ('error' in startValue) errors.start = [startValue.error];
    const body = (): AppointmentInput => ({
      patientId: patient.chosen(), therapistIds: therapists.checked(), start: 'iso' in startValue ? startValue.iso : '',
      durationMinutes: Number(duration.input.value), teletherapy: teletherapy.input.checked, repeat: repeat.value(),
    });
    void submitWith(submit, slots, status, errors, () => api<AppointmentCreated>('POST', '/api/v1/appointments', body()),
      (created) => detailsPath(created.occurrences[0]?.id ?? created.id));
  });
  return form;
}

function rescheduleForm(data: EditorData, existing: AppointmentDetails): HTMLFormElement {
  const zone = data.clinic.timeZone;
  const patient = field('Patient', '', textInput(existing.patientName, 'text', { readonly: true }));
  // A therapist who has left stays listed (and checked) until someone unticks them.
  const gone = existing.therapists.filter((t) => !data.therapists.some((x) => x.id === t.id));
  const therapists = therapistChoice([...data.therapists, ...gone], new Set(existing.therapistIds), null);
  const start = startFields(zone, isoToLocal(existing.start, zone));
  const minutes = Math.round((Date.parse(existing.end) - Date.parse(existing.start)) / 60_000);
  const duration = durationField(minutes > 0 ? minutes : DefaultMinutes);
  const slots: ErrorSlot[] = [therapists.slot, ...start.slots, duration];
  const status = statusLine();
  const submit = el('button', { type: 'submit' }, 'Save appointment');
  const form = el('form', { class: 'card wide', novalidate: true },
    patient.wrap, el('p', { class: 'muted' }, existing.teletherapy ? 'Teletherapy (video session).' : 'In person.'), therapists.fieldset, start.fieldset, duration.wrap,
    el('p', { class: 'notice' }, existing.teletherapy
      ? 'When you save, the contacts get an email with the new time and a new join link; the links sent earlier stop working.'
      : 'When you save, the contacts get an email with the new time.'),
    el('p', { class: 'actions' }, submit, el('a', { href: detailsPath(existing.id) }, 'Back to the appointment')), status);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const startValue = start.value();
    const errors: Record<string, string[]> = {};
    if (therapists.checked().length === 0) errors.therapistIds = ['Choose at least one therapist.'];
    if ('error' in startValue) errors.start = [startValue.error];
    const body = (): RescheduleInput => ({
      start: 'iso' in startValue ? startValue.iso : '', durationMinutes: Number(duration.input.value), therapistIds: therapists.checked(),
    });
    void submitWith(submit, slots, status, errors,
      () => api<AppointmentDetails>('PUT', `/api/v1/appointments/${encodeURIComponent(existing.id)}`, body()),
      () => detailsPath(existing.id));
  });
  return form;
}
