import { useEffect, useRef, useState } from 'preact/hooks';
import type { Lobby } from './lobby.js';
import type { ChatLine } from './model.js';
import { clock } from './ui.js';

export function Chat(props: { lobby: Lobby; channel: 'game' | 'party'; chat: ChatLine[]; me: string; placeholder: string }) {
  const [text, setText] = useState('');
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [props.chat.length]);
  const send = () => {
    const t = text.trim();
    // Fire-and-forget: the line shows when it comes back like everyone's; a refusal comes as a toast.
    if (t && props.lobby.sendChat(props.channel, t)) setText('');
  };
  return (
    <div class="chat" data-testid={`${props.channel}-chat`}>
      <ol class="chat-lines" ref={list} aria-live="polite">
        {props.chat.length === 0 && <li class="muted small">No messages yet. Say hello!</li>}
        {props.chat.map((l) => (
          <li key={l.id} class={l.from.userId === props.me ? 'self' : ''}>
            <span class="chat-time">{clock(l.at)}</span>
            <span class="chat-from">{l.from.name}</span>
            <span class="chat-text">{l.text}</span>
          </li>
        ))}
      </ol>
      <form
        class="chat-form"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <input placeholder={props.placeholder} aria-label={props.placeholder} maxLength={500} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <button class="btn primary" disabled={!text.trim()}>
          Send
        </button>
      </form>
    </div>
  );
}
