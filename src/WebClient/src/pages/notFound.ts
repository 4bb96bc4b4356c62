import { el } from '../dom';

export function renderNotFound(root: HTMLElement): void {
  document.title = 'Not found · Teletherapy';
  root.replaceChildren(
    el('h1', {}, 'This page does not exist'),
    el('p', {}, el('a', { href: '/' }, 'Go to the sign-in page')),
  );
}
