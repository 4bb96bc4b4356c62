import type { Problem } from '../api';
import { el } from '../dom';
import { timeZoneNames } from '../timeZones';

/** The controls a form field can hold. */
export type Control = HTMLInputElement | HTMLSelectElement;

/**
 * Where the server's validation message for one field (`field`, as the API names it, e.g. `contacts[1].email`)
 * is shown, and the controls it marks invalid.
 */
export interface ErrorSlot {
  field: string;
  error: HTMLElement;
  controls: HTMLElement[];
}

/** A labelled control with its error slot. */
export interface Field<T extends Control = Control> extends ErrorSlot {
  wrap: HTMLElement;
  input: T;
}

let idCounter = 0;

/** A document-unique id for labels and descriptions. */
export function uniqueId(prefix = 'f'): string {
  return `${prefix}${++idCounter}`;
}

/** Adds an element (by id) to a control's description. */
export function describeBy(control: HTMLElement, id: string): void {
  const ids = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x.length > 0);
  if (!ids.includes(id)) control.setAttribute('aria-describedby', [...ids, id].join(' '));
}

/** An error slot for a group of controls (e.g. a fieldset of checkboxes); put `slot.error` where it should show. */
export function errorSlot(apiField: string, controls: HTMLElement[] = []): ErrorSlot {
  const error = el('span', { class: 'field-error', id: uniqueId('e') });
  for (const control of controls) describeBy(control, error.id);
  return { field: apiField, error, controls };
}

/** A control with its label above and, optionally, a hint; `apiField` is the API's name for the value. */
export function field<T extends Control>(label: string, apiField: string, input: T, hint?: string | Node): Field<T> {
  input.id ||= uniqueId();
  const slot = errorSlot(apiField, [input]);
  const hintNode = hint === undefined ? null : el('span', { class: 'hint', id: uniqueId('h') }, hint);
  if (hintNode) describeBy(input, hintNode.id);
  const wrap = el('div', { class: 'field' }, el('label', { for: input.id }, label), ...(hintNode ? [hintNode] : []), input, slot.error);
  return { ...slot, wrap, input };
}

/** A checkbox (or radio) with its label beside it. */
export function checkbox(label: string, checked: boolean, apiField = '', type: 'checkbox' | 'radio' = 'checkbox', name?: string): Field<HTMLInputElement> {
  const input = el('input', { type, id: uniqueId(), ...(name ? { name } : {}) });
  input.checked = checked;
  const slot = errorSlot(apiField, [input]);
  return { ...slot, wrap: el('div', { class: 'field check' }, input, el('label', { for: input.id }, label), slot.error), input };
}

export function textInput(value = '', type = 'text', attrs: Record<string, string | boolean> = {}): HTMLInputElement {
  const input = el('input', { type, ...attrs });
  input.value = value;
  return input;
}

export function numberInput(value: number, min: number): HTMLInputElement {
  return textInput(String(value), 'number', { min: String(min), step: '1', inputmode: 'numeric' });
}

export function selectInput(options: ReadonlyArray<readonly [value: string, label: string]>, value: string): HTMLSelectElement {
  const select = el('select', {}, ...options.map(([v, label]) => el('option', { value: v }, label)));
  select.value = value;
  return select;
}

/** A text input for an IANA time zone with the browser's list of zones as suggestions (put `list` in the form). */
export function timeZoneInput(value: string): { input: HTMLInputElement; list: HTMLDataListElement } {
  const listId = uniqueId('zones');
  const input = textInput(value, 'text', { list: listId, autocomplete: 'off', spellcheck: 'false' });
  const list = el('datalist', { id: listId }, ...timeZoneNames().map((z) => el('option', { value: z })));
  return { input, list };
}

/** A polite status line for a form's outcome (role=status). */
export function statusLine(className = ''): HTMLParagraphElement {
  return el('p', { role: 'status', class: `form-status ${className}`.trim() });
}

function normalize(name: string): string {
  return name.replace(/^\$\.?/, '').toLowerCase();
}

/** Empties the error slots and their invalid marks. */
export function clearErrors(slots: ErrorSlot[]): void {
  for (const slot of slots) {
    slot.error.textContent = '';
    for (const control of slot.controls) control.removeAttribute('aria-invalid');
  }
}

/** The problem in words for a person (validation messages are the server's own words). */
export function problemWords(problem: Problem): string {
  if (problem.reason === 'validation' && problem.errors) return Object.values(problem.errors).flat().join(' ');
  switch (problem.reason) {
    case 'offline':
      return 'The server cannot be reached. Check your connection and try again.';
    case 'unauthorized':
      return 'Your sign-in has ended. Please sign in again.';
    case 'forbidden':
    case 'not-listed':
      return 'You do not have the right to do this.';
    case 'not-found':
      return 'This no longer exists. Reload the page to see the current state.';
    case 'already-set-up':
      return 'The clinic is already set up. Please sign in.';
    default:
      return problem.detail ?? problem.title ?? 'That did not work. Please try again.';
  }
}

/**
 * Shows a problem: each validation message next to its field (matched by the API's field name, case-insensitive),
 * the rest and a summary in `status`; moves focus to the first invalid control.
 */
export function showProblem(problem: Problem, slots: ErrorSlot[], status: HTMLElement): void {
  clearErrors(slots);
  status.classList.add('error');
  if (problem.status === 401) {
    window.location.assign('/');
    return;
  }
  if (problem.reason !== 'validation' || !problem.errors) {
    status.textContent = problemWords(problem);
    return;
  }
  const unplaced: string[] = [];
  let first: HTMLElement | null = null;
  for (const [name, messages] of Object.entries(problem.errors)) {
    const slot = slots.find((s) => s.field !== '' && normalize(s.field) === normalize(name));
    if (!slot) {
      unplaced.push(...messages);
      continue;
    }
    slot.error.textContent = [slot.error.textContent, ...messages].filter((m) => m).join(' ');
    for (const control of slot.controls) control.setAttribute('aria-invalid', 'true');
    first ??= slot.controls.find((c) => !(c as HTMLInputElement).disabled) ?? null;
  }
  status.textContent = ['Please correct the marked fields.', ...unplaced].join(' ');
  first?.focus();
}

/** A validation problem made in the browser, shown like the server's. */
export function localProblem(errors: Record<string, string[]>): Problem {
  return { status: 400, reason: 'validation', title: null, detail: null, opensAt: null, errors };
}

/** Shows a success message in a status line. */
export function showDone(status: HTMLElement, message: string): void {
  status.classList.remove('error');
  status.textContent = message;
}
