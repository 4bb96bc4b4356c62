import { api, type Role, type StaffAccount, type StaffInput, type StaffMember, type StaffUpdate } from '../api';
import { el } from '../dom';
import { clearErrors, field, problemWords, selectInput, showDone, showProblem, statusLine, textInput, type Field } from '../ui/forms';
import { staffPage } from '../ui/layout';

const roleNames: Record<Role, string> = { admin: 'Admin', scheduler: 'Scheduler', therapist: 'Therapist' };
const roleOptions = Object.entries(roleNames) as Array<[Role, string]>;

/** Staff (admins): the accounts with their role and whether they are active, and Add staff member. */
export async function renderStaff(root: HTMLElement): Promise<void> {
  const page = await staffPage(root, 'Staff', ['admin']);
  if (!page) return;
  const { staff, main } = page;
  const status = statusLine();
  const table = el('table', { class: 'list staff' }, el('caption', { class: 'visually-hidden' }, 'Staff accounts'));
  const load = async (): Promise<void> => {
    const result = await api<StaffAccount[]>('GET', '/api/v1/staff');
    if (!result.ok) {
      if (result.problem.status === 401) window.location.assign('/');
      status.textContent = 'The staff could not be loaded. Please try again in a moment.';
      return;
    }
    table.replaceChildren(table.caption ?? '', staffHead(), el('tbody', {}, ...result.value.map((account) => staffRow(account, staff, status, load))));
  };
  main.append(
    el('p', { class: 'hint' }, 'Admins run the clinic’s settings and staff; schedulers manage patients and every appointment but never join a session; therapists see and join the appointments they are listed on.'),
    status,
    el('div', { class: 'table-wrap' }, table),
    addStaffForm(status, load),
  );
  await load();
}

function staffHead(): HTMLElement {
  return el('thead', {}, el('tr', {}, ...['Name', 'Email', 'Role', 'Active'].map((h) => el('th', { scope: 'col' }, h))));
}

/** Saves a change of one account; after a change to one's own account the page is loaded again (rights may differ). */
async function change(account: StaffAccount, me: StaffMember, update: StaffUpdate, status: HTMLElement, done: string, reload: () => Promise<void>): Promise<void> {
  const result = await api<StaffAccount>('PUT', `/api/v1/staff/${encodeURIComponent(account.id)}`, update);
  if (!result.ok) {
    status.classList.add('error');
    status.textContent = `${account.name}: ${problemWords(result.problem)}`;
    await reload();
    return;
  }
  if (account.id === me.id) {
    window.location.assign(update.active === false ? '/' : window.location.pathname);
    return;
  }
  showDone(status, done);
  await reload();
}

function staffRow(account: StaffAccount, me: StaffMember, status: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const role = selectInput(roleOptions, account.role);
  role.setAttribute('aria-label', `Role of ${account.name}`);
  role.addEventListener('change', () => {
    const next = role.value as Role;
    role.disabled = true;
    void change(account, me, { role: next }, status, `${account.name} is now ${roleNames[next]}.`, reload);
  });
  const action = account.active ? 'Deactivate' : 'Reactivate';
  const toggle = el('button', { type: 'button', class: 'secondary small', 'aria-label': `${action} ${account.name}` }, action);
  toggle.addEventListener('click', () => {
    toggle.disabled = true;
    void change(account, me, { active: !account.active }, status,
      account.active ? `${account.name} is deactivated and signed out everywhere.` : `${account.name} is active again.`, reload);
  });
  return el('tr', { class: account.active ? '' : 'inactive' },
    el('th', { scope: 'row' }, account.name, account.id === me.id ? el('span', { class: 'muted' }, ' (you)') : ''),
    el('td', { 'data-label': 'Email' }, account.email),
    el('td', { 'data-label': 'Role' }, role),
    el('td', { 'data-label': 'Active' }, el('span', { class: 'active-state' }, account.active ? 'Yes' : 'No'), ' ', toggle));
}

function addStaffForm(listStatus: HTMLElement, reload: () => Promise<void>): HTMLFormElement {
  const fields: Record<keyof StaffInput, Field> = {
    name: field('Name', 'name', textInput('', 'text', { autocomplete: 'off' })),
    email: field('Email', 'email', textInput('', 'email', { autocomplete: 'off' })),
    password: field('Password', 'password', textInput('', 'password', { autocomplete: 'new-password' }), 'At least 8 characters. Tell it to the person; they sign in with it.'),
    role: field('Role', 'role', selectInput(roleOptions, 'therapist')),
  };
  const status = statusLine();
  const add = el('button', { type: 'submit' }, 'Add staff member');
  const form = el('form', { class: 'card', 'aria-labelledby': 'add-staff-title', novalidate: true },
    el('h2', { id: 'add-staff-title' }, 'New staff member'), ...Object.values(fields).map((f) => f.wrap), el('p', {}, add), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body: StaffInput = {
      name: fields.name.input.value.trim(), email: fields.email.input.value.trim(), password: fields.password.input.value, role: fields.role.input.value as Role,
    };
    add.disabled = true;
    const result = await api<{ id: string }>('POST', '/api/v1/staff', body);
    add.disabled = false;
    if (!result.ok) {
      showProblem(result.problem, Object.values(fields), status);
      return;
    }
    clearErrors(Object.values(fields));
    status.textContent = '';
    for (const f of [fields.name, fields.email, fields.password]) f.input.value = '';
    showDone(listStatus, `${body.name} was added as ${roleNames[body.role]}.`);
    await reload();
    fields.name.input.focus();
  });
  return form;
}
