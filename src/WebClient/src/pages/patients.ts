import { api, type Patient } from '../api';
import { el } from '../dom';
import { field, textInput } from '../ui/forms';
import { staffPage } from '../ui/layout';

const DebounceMs = 200;
const MaxListed = 200;

/** Patients: search, the list with each patient's primary contact, and Add patient (admins and schedulers). */
export async function renderPatients(root: HTMLElement): Promise<void> {
  const page = await staffPage(root, 'Patients');
  if (!page) return;
  const { staff, main } = page;
  const initial = new URLSearchParams(window.location.search).get('search') ?? '';
  const search = field('Search patients', 'search', textInput(initial, 'search', { autocomplete: 'off' }), 'Part of a patient’s or a contact’s name or email.');
  const status = el('p', { role: 'status', class: 'muted' }, 'Loading…');
  const caption = el('caption', { class: 'visually-hidden' }, 'Patients and their primary contacts');
  const table = el('table', { class: 'list patients' });
  if (staff.role !== 'therapist') main.append(el('p', { class: 'actions' }, el('a', { href: '/patients/new', class: 'button' }, 'Add patient')));
  else main.append(el('p', { class: 'muted' }, 'You see the patients of the appointments you are listed on.'));
  main.append(search.wrap, status, el('div', { class: 'table-wrap' }, table));

  let version = 0;
  const load = async (): Promise<void> => {
    const term = search.input.value.trim();
    const mine = ++version;
    const result = await api<Patient[]>('GET', `/api/v1/patients?search=${encodeURIComponent(term)}`);
    if (mine !== version) return;
    if (!result.ok) {
      if (result.problem.status === 401) window.location.assign('/');
      status.textContent = 'The patients could not be loaded. Please try again in a moment.';
      return;
    }
    status.textContent = countWords(result.value.length, term);
    table.replaceChildren(...(result.value.length === 0 ? [] : [caption, patientsHead(), el('tbody', {}, ...result.value.map(patientRow))]));
  };
  let timer = 0;
  search.input.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      const url = new URL(window.location.href);
      if (search.input.value.trim()) url.searchParams.set('search', search.input.value.trim());
      else url.searchParams.delete('search');
      window.history.replaceState(null, '', url);
      void load();
    }, DebounceMs);
  });
  await load();
}

function countWords(count: number, term: string): string {
  if (count === 0) return term ? `No patient matches “${term}”.` : 'No patients yet.';
  const some = `${count} patient${count === 1 ? '' : 's'}`;
  return count >= MaxListed ? `The first ${MaxListed} patients are shown; search to find others.` : term ? `${some} match “${term}”.` : `${some}.`;
}

function patientsHead(): HTMLElement {
  return el('thead', {}, el('tr', {}, ...['Patient', 'Primary contact', 'Email', 'Phone'].map((h) => el('th', { scope: 'col' }, h))));
}

function patientRow(patient: Patient): HTMLElement {
  const primary = patient.contacts.find((c) => c.isPrimary);
  const contactName = primary ? `${primary.name}${primary.relationship ? ` (${primary.relationship})` : ''}` : 'None';
  return el('tr', {},
    el('th', { scope: 'row' }, el('a', { href: `/patients/${encodeURIComponent(patient.id)}` }, patient.name)),
    el('td', { 'data-label': 'Primary contact' }, contactName),
    el('td', { 'data-label': 'Email' }, primary?.email ?? '—'),
    el('td', { 'data-label': 'Phone' }, primary?.phone ?? '—'));
}
