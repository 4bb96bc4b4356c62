import { el } from '../dom';
import { pageShell, publicHeader } from '../ui/layout';

export function renderNotFound(root: HTMLElement): void {
  document.title = 'Not found · Teletherapy';
  pageShell(root, publicHeader()).replaceChildren(
    el('h1', {}, 'This page does not exist'),
    el('p', {}, el('a', { href: '/' }, 'Go to the sign-in page')),
  );
}
