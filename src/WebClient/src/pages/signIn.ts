import { api, type SetupStatus } from '../api';
import { el } from '../dom';
import { pageShell, publicHeader } from '../ui/layout';
import { renderSetup } from './setup';

/** Staff sign-in: fields labelled Email and Password and a Sign in button (product contract). */
export async function renderSignIn(root: HTMLElement): Promise<void> {
  const setup = await api<SetupStatus>('GET', '/api/v1/setup');
  if (setup.ok && setup.value.required) {
    renderSetup(pageShell(root, publicHeader()), () => renderSignInForm(root, 'The clinic has already been set up. Please sign in.'));
    return;
  }
  renderSignInForm(root);
}

function renderSignInForm(root: HTMLElement, notice?: string): void {
  document.title = 'Sign in · Teletherapy';
  const email = el('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = el('p', { role: 'alert', class: 'error' });
  const submit = el('button', { type: 'submit' }, 'Sign in');
  const form = el(
    'form',
    { class: 'card', 'aria-labelledby': 'signin-title' },
    el('h1', { id: 'signin-title' }, 'Sign in'),
    notice ? el('p', { class: 'notice' }, notice) : '',
    el('label', { for: 'email' }, 'Email'),
    email,
    el('label', { for: 'password' }, 'Password'),
    password,
    el('p', {}, submit),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.textContent = '';
    try {
      const response = await fetch('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: email.value, password: password.value }),
      });
      if (response.ok) {
        window.location.assign('/schedule/calendar');
        return;
      }
      status.textContent = response.status === 401 || response.status === 400
        ? 'That email and password do not match. Please try again.'
        : 'Signing in is not possible right now. Please try again in a moment.';
    } catch {
      status.textContent = 'The server cannot be reached. Check your connection and try again.';
    } finally {
      submit.disabled = false;
    }
  });
  pageShell(root, publicHeader()).replaceChildren(el('p', { class: 'lead muted' }, 'Clinic staff sign in here. Patients and caregivers join from the link in their email or from the ', el('a', { href: '/portal' }, 'patient portal'), '.'), form);
  email.focus();
}
