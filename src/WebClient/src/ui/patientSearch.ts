import { api, type Patient } from '../api';
import { el } from '../dom';
import { field, textInput, uniqueId, type Field } from './forms';

const DebounceMs = 200;
const MaxShown = 10;

export interface PatientPicker {
  field: Field<HTMLInputElement>;
  /** The chosen patient's id, or '' while none is chosen (typing again clears the choice). */
  chosen(): string;
}

/** The primary contact's email (or the first contact's), to tell patients with the same name apart. */
function contactHint(patient: Patient): string {
  const contact = patient.contacts.find((c) => c.isPrimary) ?? patient.contacts[0];
  return contact?.email ?? contact?.phone ?? '';
}

/**
 * Search as you type (ARIA combobox with a listbox): the matches of GET /api/v1/patients?search= after a short pause;
 * arrow keys move through them, Enter or a click chooses one, Escape closes the list.
 */
export function patientPicker(label = 'Patient'): PatientPicker {
  const listId = uniqueId('patients');
  const input = textInput('', 'text', {
    role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId, autocomplete: 'off', spellcheck: 'false',
  });
  const picker = field(label, 'patientId', input, 'Type part of the patient’s or a contact’s name or email, then choose from the list.');
  const listbox = el('ul', { class: 'matches', role: 'listbox', id: listId, 'aria-label': 'Matching patients' });
  const found = el('span', { class: 'hint', 'aria-live': 'polite' });
  picker.wrap.append(listbox, found);

  let chosenId = '';
  let matches: Patient[] = [];
  let active = -1;
  let timer = 0;
  let version = 0;

  const close = (): void => {
    listbox.replaceChildren();
    matches = [];
    active = -1;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  };
  const highlight = (index: number): void => {
    active = index;
    Array.from(listbox.children).forEach((option, i) => option.setAttribute('aria-selected', String(i === index)));
    const option = listbox.children[index] as HTMLElement | undefined;
    if (option) {
      input.setAttribute('aria-activedescendant', option.id);
      option.scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  };
  const choose = (patient: Patient): void => {
    chosenId = patient.id;
    input.value = patient.name;
    found.textContent = `${patient.name} chosen.`;
    picker.error.textContent = '';
    input.removeAttribute('aria-invalid');
    close();
  };
  const show = (list: Patient[], term: string): void => {
    matches = list.slice(0, MaxShown);
    listbox.replaceChildren(...matches.map((patient, i) => {
      const hint = contactHint(patient);
      const option = el('li', { role: 'option', id: `${listId}-${i}`, 'aria-selected': 'false' }, patient.name, hint ? el('span', { class: 'muted' }, ` · ${hint}`) : '');
      option.addEventListener('click', () => choose(patient));
      return option;
    }));
    input.setAttribute('aria-expanded', String(matches.length > 0));
    active = -1;
    found.textContent = list.length === 0
      ? `No patient matches “${term}”.`
      : list.length > MaxShown ? `${list.length} matches; the first ${MaxShown} are shown. Type more to narrow them down.` : `${list.length} match${list.length === 1 ? '' : 'es'}.`;
  };
  const search = async (): Promise<void> => {
    const term = input.value.trim();
    const mine = ++version;
    if (term === '') {
      close();
      found.textContent = '';
      return;
    }
    const result = await api<Patient[]>('GET', `/api/v1/patients?search=${encodeURIComponent(term)}`);
    if (mine !== version) return;
    if (result.ok) show(result.value, term);
    else {
      close();
      found.textContent = 'The patients could not be searched. Please try again.';
    }
  };

  input.addEventListener('input', () => {
    chosenId = '';
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void search(), DebounceMs);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' && matches.length > 0) highlight((active + 1) % matches.length);
    else if (event.key === 'ArrowUp' && matches.length > 0) highlight((active - 1 + matches.length) % matches.length);
    else if (event.key === 'Enter' && active >= 0) choose(matches[active]);
    else if (event.key === 'Escape' && matches.length > 0) close();
    else return;
    event.preventDefault();
  });
  // Keep the focus in the input while an option is clicked; close the list when the focus leaves.
  listbox.addEventListener('mousedown', (event) => event.preventDefault());
  input.addEventListener('blur', () => window.setTimeout(() => { if (document.activeElement !== input) close(); }, 150));

  return { field: picker, chosen: () => chosenId };
}
