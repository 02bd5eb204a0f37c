import { useEffect, useRef, useState } from 'preact/hooks';
import { ackMail, sendMail } from './actions.js';
import type { Lobby } from './lobby.js';
import { senderId, type LobbyModel, type Mail, type MailTarget } from './model.js';
import { useNow } from './store.js';
import { Avatar, Badge, Empty, Panel, span, when } from './ui.js';

/** The sender's own id of one message: a retry with it after a dropped connection sends nothing twice. */
const newMsgId = (): string =>
  typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

export function MailPanel({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const now = useNow(30_000) + s.clockOffset;
  // Newest first; an expired message is never delivered again, so it is not shown either.
  const mail = s.mail.filter((m) => m.expiresAt > now).reverse();
  return (
    <Panel
      id="mail"
      testid="mail"
      class="mail"
      title={
        <>
          Mail {mail.length > 0 && <Badge kind="live">{mail.length} unread</Badge>}
        </>
      }
      actions={
        mail.length > 1 && (
          <button class="btn small ghost" onClick={() => void ackMail(lobby, mail.map((m) => m.id))}>
            Acknowledge all
          </button>
        )
      }
    >
      {mail.length === 0 ? (
        <Empty>{s.mailLoaded ? 'No mail. Messages from friends and from the operators land here, even while you are away.' : 'Loading your mail…'}</Empty>
      ) : (
        <ul class="mail-list">
          {mail.map((m) => (
            <MailItem key={m.id} m={m} lobby={lobby} now={now} />
          ))}
        </ul>
      )}
      <p class="hint">A message stays until you acknowledge it; then it is deleted for good.</p>
      <Compose lobby={lobby} s={s} />
    </Panel>
  );
}

function MailItem({ m, lobby, now }: { m: Mail; lobby: Lobby; now: number }) {
  const from = senderId(m);
  return (
    <li class="mail-item" data-testid="mail-item" data-mail-id={m.id}>
      <div class="mail-head">
        <Avatar name={m.fromName} />
        <strong class="mail-from">{m.fromName}</strong>
        {!from && <Badge kind="warn">operator</Badge>}
        <span class="muted small">{when(m.sentAt)}</span>
        <span class="grow" />
        <span class="muted small" title={`Deleted unread on ${new Date(m.expiresAt).toLocaleString()}`}>
          expires in {span(m.expiresAt - now)}
        </span>
      </div>
      <p class="mail-body" data-testid="mail-body">
        {m.body}
      </p>
      <div class="buttons">
        <button class="btn small primary" onClick={() => void ackMail(lobby, [m.id])}>
          Acknowledge
        </button>
        {from && (
          <button class="btn small ghost" onClick={() => lobby.set({ mailTo: { userId: from, name: m.fromName } })}>
            Reply
          </button>
        )}
      </div>
    </li>
  );
}

function Compose({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const [body, setBody] = useState('');
  const [msgId, setMsgId] = useState(newMsgId);
  const [sending, setSending] = useState(false);
  const text = useRef<HTMLTextAreaElement>(null);
  const friends: MailTarget[] = (s.friends ?? []).filter((f) => f.state === 'friend').map((f) => ({ userId: f.userId, name: f.name }));
  const to = s.mailTo;
  // Answering someone who is not a friend (a reply): they are a choice too.
  const targets = to && !friends.some((f) => f.userId === to.userId) ? [...friends, to] : friends;
  useEffect(() => {
    if (to) text.current?.focus();
  }, [to?.userId]);
  const send = async () => {
    if (!to || !body.trim() || sending) return;
    setSending(true);
    const r = await sendMail(lobby, to, body.trim(), msgId);
    setSending(false);
    // After an error the send may have happened: the same id makes a retry safe. Otherwise the next message is a new one.
    if (r !== 'error') setMsgId(newMsgId());
    if (r === 'sent') setBody('');
  };
  return (
    <form
      class="mail-form"
      data-testid="mail-compose"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <h3>Write a message</h3>
      <select
        aria-label="Mail to"
        value={to?.userId ?? ''}
        onChange={(e) => {
          lobby.set({ mailTo: targets.find((t) => t.userId === e.currentTarget.value) ?? null });
          setMsgId(newMsgId());
        }}
      >
        <option value="">{targets.length ? 'Choose a friend…' : 'Add friends to write to them'}</option>
        {targets.map((t) => (
          <option key={t.userId} value={t.userId}>
            {t.name}
          </option>
        ))}
      </select>
      <textarea
        ref={text}
        aria-label="Message"
        placeholder={to ? `Message to ${to.name}… (they get it even when offline)` : 'Message…'}
        rows={3}
        maxLength={2000}
        value={body}
        onInput={(e) => {
          setBody(e.currentTarget.value);
          setMsgId(newMsgId());
        }}
      />
      <div class="buttons">
        <button class="btn primary" disabled={!to || !body.trim() || sending}>
          {sending ? 'Sending…' : 'Send mail'}
        </button>
        <span class="muted small">{body.length}/2000</span>
      </div>
    </form>
  );
}
