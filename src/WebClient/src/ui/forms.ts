import type { Problem } from '../api';
import { el } from '../dom';

let fieldCounter = 0;

/** A labelled input with a slot for its validation message; `field` is the API's field name. */
export interface Field {
  wrap: HTMLElement;
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLElement;
  field: string;
}

export function field(label: string, apiField: string, input: HTMLInputElement | HTMLSelectElement): Field {
  const id = `f${++fieldCounter}`;
  input.id = id;
  const error = el('span', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  input.setAttribute('aria-describedby', error.id);
  const wrap = el('div', { class: 'field' }, el('label', { for: id }, label), input, error);
  return { wrap, input, error, field: apiField };
}

export function textInput(value = '', type = 'text'): HTMLInputElement {
  const input = el('input', { type });
  input.value = value;
  return input;
}

export function checkbox(label: string, checked: boolean, apiField = ''): Field {
  const input = el('input', { type: 'checkbox' });
  input.checked = checked;
  const id = `f${++fieldCounter}`;
  input.id = id;
  const error = el('span', { class: 'field-error', role: 'alert' });
  return { wrap: el('div', { class: 'field check' }, input, el('label', { for: id }, label), error), input, error, field: apiField };
}

/** Shows a problem's per-field errors next to the fields; the rest (and the title) in `status`. */
export function showProblem(problem: Problem, fields: Field[], status: HTMLElement): void {
  for (const f of fields) f.error.textContent = '';
  const unplaced: string[] = [];
  for (const [name, messages] of Object.entries(problem.errors ?? {})) {
    const target = fields.find((f) => f.field === name);
    if (target) target.error.textContent = messages.join(' ');
    else unplaced.push(messages.join(' '));
  }
  status.textContent = problem.reason === 'validation'
    ? ['Please correct the marked fields.', ...unplaced].join(' ')
    : problem.reason === 'forbidden' || problem.reason === 'not-listed'
      ? 'You do not have the right to do this.'
      : problem.title ?? 'That did not work. Please try again.';
}

/** The offset (ms) of a time zone at a UTC instant. */
function zoneOffset(utc: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(new Date(utc));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? '0');
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - utc;
}

/** A wall-clock date and time in `timeZone` as an ISO string with its offset (DST handled). */
export function zonedIso(date: string, time: string, timeZone: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const clock = /^(\d{2}):(\d{2})$/.exec(time);
  if (!match || !clock) return null;
  const wall = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(clock[1]), Number(clock[2]));
  let utc = wall - zoneOffset(wall, timeZone);
  utc = wall - zoneOffset(utc, timeZone);
  const offset = Math.round(zoneOffset(utc, timeZone) / 60000);
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date}T${time}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An instant as date (yyyy-mm-dd) and time (hh:mm) on the wall clock of `timeZone`. */
export function zonedParts(iso: string, timeZone: string): { date: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(new Date(iso));
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}` };
}

/** A time shown in the clinic's zone, with the zone named. */
export function clinicTime(iso: string, timeZone: string): string {
  return `${new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso))} (${timeZone})`;
}
