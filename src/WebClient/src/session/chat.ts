/**
 * The chat of a session (hub: SendChatMessage, ChatMessage): messages to everyone in the session, shown in the order
 * the server numbered them, with an unread mark on the Chat button while the panel is closed. The server relays and
 * forgets them; this page forgets them when the session ends or the page closes, and the panel says so.
 */
import type { HubConnection } from '@microsoft/signalr';
import { el } from '../dom';
import { formatTime } from '../format';
import type { PanelHandle } from '../ui/callView';
import type { ChatMessage } from './contract';

/** The longest message the server takes (SessionChat.MaxLength). */
const MaxLength = 1000;

/** Plain words for the hub's refusals (SessionChat.cs). */
function refusalText(error: unknown): string | null {
  const reason = /(not-in-session|chat-empty|chat-too-long|chat-too-fast)/.exec(error instanceof Error ? error.message : String(error))?.[1];
  switch (reason) {
    case 'not-in-session':
      return 'Only people in the session can chat.';
    case 'chat-too-long':
      return `A message can have at most ${MaxLength} characters.`;
    case 'chat-too-fast':
      return 'You are sending messages quickly. Wait a moment, then send again.';
    case 'chat-empty':
      return null;
    default:
      return 'The message could not be sent. Check your connection and try again.';
  }
}

export class ChatPanel {
  readonly element: HTMLElement;
  private readonly list = el('ol', { class: 'chat-messages', 'aria-live': 'polite', 'aria-labelledby': 'chat-title' });
  private readonly input = el('textarea', { id: 'chat-input', rows: '2', maxlength: String(MaxLength), autocomplete: 'off' });
  private readonly sendButton = el('button', { type: 'submit' }, 'Send');
  private readonly problem = el('p', { class: 'chat-problem', role: 'alert', hidden: true });
  private readonly unreadText = el('span', { id: 'chat-unread', class: 'visually-hidden' });
  private readonly badge = el('span', { class: 'unread-badge', 'aria-hidden': 'true', hidden: true });
  private handle: PanelHandle | null = null;
  private hub: HubConnection | null = null;
  private unread = 0;

  /** @param selfId This page's participant id, so its own messages say "You". */
  constructor(private readonly selfId: () => string) {
    const form = el(
      'form',
      { class: 'chat-form' },
      el('label', { for: 'chat-input' }, 'Message'),
      this.input,
      el('div', { class: 'inline' }, this.sendButton),
      this.problem,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.send();
    });
    // Enter sends, Shift+Enter starts a new line (as in most chats).
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.send();
      }
    });
    this.element = el(
      'aside',
      { class: 'chat-panel card', id: 'chat-panel', 'aria-labelledby': 'chat-title' },
      el('h2', { id: 'chat-title' }, 'Chat'),
      el('p', { class: 'muted chat-note' }, 'Messages go to everyone in the session. They are not kept after the session ends.'),
      this.list,
      form,
    );
  }

  /** The hub connection messages come in on and go out through (a page that joins again brings a new one). */
  use(hub: HubConnection): void {
    this.hub?.off('ChatMessage', this.onMessage);
    this.hub = hub;
    hub.on('ChatMessage', this.onMessage);
  }

  /** The bar button and open state of the panel this chat sits in: the unread mark goes on the button. */
  attach(handle: PanelHandle): void {
    this.handle = handle;
    // The count is the button's description, not its name: the button stays "Chat" (aria-hidden badge, text elsewhere).
    handle.button.append(this.badge);
    this.element.append(this.unreadText);
    handle.button.setAttribute('aria-describedby', 'chat-unread');
  }

  /** The panel was opened or closed: open, everything is read. */
  panelChanged(): void {
    if (this.handle?.isOpen) {
      this.setUnread(0);
      this.list.lastElementChild?.scrollIntoView({ block: 'nearest' });
    }
  }

  dispose(): void {
    this.hub?.off('ChatMessage', this.onMessage);
    this.list.replaceChildren();
  }

  private readonly onMessage = (message: ChatMessage): void => {
    if (this.list.querySelector(`[data-sequence="${message.sequence}"]`)) return;
    const own = message.fromParticipantId === this.selfId();
    const item = el(
      'li',
      { class: own ? 'own' : '', 'data-sequence': String(message.sequence) },
      el('span', { class: 'chat-meta' }, `${formatTime(message.sentAt)} · ${own ? 'You' : message.fromName}`),
      el('p', { class: 'chat-text' }, message.text),
    );
    // Messages arrive in order almost always; the server's numbers settle the rare race between two senders.
    const later = [...this.list.children].find((li) => Number((li as HTMLElement).dataset.sequence) > message.sequence);
    this.list.insertBefore(item, later ?? null);
    if (!this.handle?.isOpen && !own) this.setUnread(this.unread + 1);
    else item.scrollIntoView({ block: 'nearest' });
  };

  private async send(): Promise<void> {
    const text = this.input.value.trim();
    if (text.length === 0 || this.sendButton.disabled || !this.hub) return;
    this.sendButton.disabled = true;
    this.problem.hidden = true;
    try {
      await this.hub.invoke('SendChatMessage', text);
      this.input.value = '';
    } catch (error) {
      const words = refusalText(error);
      if (words) {
        this.problem.textContent = words;
        this.problem.hidden = false;
      }
    } finally {
      this.sendButton.disabled = false;
      this.input.focus();
    }
  }

  private setUnread(count: number): void {
    this.unread = count;
    this.badge.textContent = String(count);
    this.badge.hidden = count === 0;
    this.unreadText.textContent = count === 0 ? '' : `${count} unread ${count === 1 ? 'message' : 'messages'}`;
    if (this.handle) this.handle.button.dataset.unread = String(count);
  }
}
