import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '@foyer/shared';
import { Batch, byCall } from './batch.js';
import type { Db } from './db.js';

/** One stored message, as its recipient sees it (MailView). */
export interface MailMessage {
  id: string;
  /** `<project>:<userId>` of the sender, or `system:<project>` for operators. */
  from: string;
  fromName: string;
  body: string;
  sentAt: number;
  expiresAt: number;
}

export interface MailSendInput {
  /** `<project>:<userId>` (or `system:<project>`): with `clientMsgId` and the recipient, the key that makes a resend change nothing. */
  sender: string;
  senderName: string;
  to: readonly string[];
  body: string;
  clientMsgId: string;
}

export interface MailSendResult {
  /** One entry per distinct recipient that has the message: `fresh` is false when it was there already (a resend). */
  sent: { to: string; id: string; fresh: boolean; mail: MailMessage }[];
  failed: { to: string; code: ErrorCode }[];
}

export interface MailOptions {
  /** Unexpired messages one recipient may hold; more is INBOX_FULL. */
  inboxMax: number;
  /** Lifetime of a message. */
  ttlMs: number;
}

interface Row {
  id: string;
  recipient: string;
  sender: string;
  sender_name: string;
  body: string;
  sent_at: Date;
  expires_at: Date;
}

const COLUMNS = 'id, recipient, sender, sender_name, body, sent_at, expires_at';

const fromRow = (r: Row): MailMessage => ({
  id: r.id,
  from: r.sender,
  fromName: r.sender_name,
  body: r.body,
  sentAt: r.sent_at.getTime(),
  expiresAt: r.expires_at.getTime(),
});

interface ListCall {
  recipient: string;
  limit: number;
  now: number;
}

// Per-recipient locks (two-key advisory locks: a space apart from the one-key migration lock).
const LOCK_SPACE = 0x6d61696c; // "mail"
const PURGE_BATCH = 5000;

/**
 * Mail between users, online or offline. A message lives until its
 * recipient acknowledges it (then it is deleted) or it expires (then it is
 * never listed again, and the purge deletes it). One row per recipient; the
 * unique key (sender, client_msg_id, recipient) makes a resend a no-op that
 * returns the same ids — for as long as the message is stored.
 */
export class Mail {
  /** Inboxes are read at every login: one statement per burst of logins, each call with its own limit and time. */
  private readonly lists = new Batch<ListCall, MailMessage[]>(
    async (calls) => {
      const r = await this.db.query<Row & { i: number }>(
        `select u.i::int as i, m.*
           from unnest($1::text[], $2::timestamptz[], $3::int[]) with ordinality as u(recipient, now, lim, i)
           cross join lateral (select ${COLUMNS}, seq from mail where recipient = u.recipient and expires_at > u.now order by seq limit u.lim) m
          order by u.i, m.seq`,
        [calls.map((c) => c.recipient), calls.map((c) => new Date(c.now).toISOString()), calls.map((c) => c.limit)],
      );
      return byCall(calls, r.rows).map((rows) => rows.map(fromRow));
    },
    { alone: (c) => this.listOne(c) },
  );

  constructor(
    private readonly db: Db,
    readonly options: MailOptions,
  ) {}

  /**
   * Stores one message for each recipient that can take it. Unknown accounts
   * fail with USER_NOT_FOUND, those in `refused` with BLOCKED, full inboxes
   * with INBOX_FULL. One transaction; recipients are locked in a fixed order,
   * so concurrent senders neither overfill an inbox nor deadlock.
   */
  async send(input: MailSendInput, refused: ReadonlySet<string> = new Set(), now = Date.now()): Promise<MailSendResult> {
    const recipients = [...new Set(input.to)].sort();
    return this.db.transaction(async (tx) => {
      // unnest yields the sorted array in order, so the locks are taken in that order.
      await tx.query('select pg_advisory_xact_lock($1, hashtext(r)) from unnest($2::text[]) as r', [LOCK_SPACE, recipients]);
      // One statement (one round trip) finds what was sent already, which accounts exist and how full
      // their inboxes are, and inserts for those that can take it; the lock keeps the counts true.
      const r = await tx.query<Row & { kind: 'had' | 'new' | 'known' }>(
        `with had as (select ${COLUMNS} from mail where sender = $3 and client_msg_id = $4 and recipient = any($1)),
              known as (select id from accounts where id = any($1)),
              inbox as (select recipient, count(*) as n from mail where recipient = any($1) and expires_at > $7 group by recipient),
              ins as (
                insert into mail (id, recipient, sender, sender_name, body, client_msg_id, sent_at, expires_at)
                select w.id, w.recipient, $3, $5, $6, $4, $7, $8 from unnest($1::text[], $2::text[]) as w(recipient, id)
                 where w.recipient in (select id from known)
                   and w.recipient not in (select recipient from had)
                   and w.recipient <> all($9::text[])
                   and coalesce((select n from inbox where inbox.recipient = w.recipient), 0) < $10
                returning ${COLUMNS})
         select 'new' as kind, ${COLUMNS} from ins
         union all select 'had', ${COLUMNS} from had
         union all select 'known', null, id, null, null, null, null, null from known`,
        [
          recipients,
          recipients.map(() => randomUUID()),
          input.sender,
          input.clientMsgId,
          input.senderName,
          input.body,
          new Date(now),
          new Date(now + this.options.ttlMs),
          [...refused],
          this.options.inboxMax,
        ],
      );
      const rows = new Map<string, Row & { kind: string }>();
      const known = new Set<string>();
      for (const row of r.rows) {
        if (row.kind === 'known') known.add(row.recipient);
        else rows.set(row.recipient, row);
      }
      const sent: MailSendResult['sent'] = [];
      const failed: MailSendResult['failed'] = [];
      for (const to of recipients) {
        const row = rows.get(to);
        if (row) sent.push({ to, id: row.id, fresh: row.kind === 'new', mail: fromRow(row) });
        else failed.push({ to, code: !known.has(to) ? 'USER_NOT_FOUND' : refused.has(to) ? 'BLOCKED' : 'INBOX_FULL' });
      }
      return { sent, failed };
    });
  }

  /** How many unexpired messages wait in the recipient's inbox (admin views). */
  async count(recipient: string, now = Date.now()): Promise<number> {
    const r = await this.db.query<{ n: number }>('select count(*)::int as n from mail where recipient = $1 and expires_at > $2', [recipient, new Date(now)]);
    return r.rows[0]!.n;
  }

  /** The recipient's unexpired messages, oldest first. */
  list(recipient: string, limit: number, now = Date.now()): Promise<MailMessage[]> {
    return this.lists.call({ recipient, limit, now });
  }

  private async listOne({ recipient, limit, now }: ListCall): Promise<MailMessage[]> {
    const r = await this.db.query<Row>(`select ${COLUMNS} from mail where recipient = $1 and expires_at > $2 order by seq limit $3`, [
      recipient,
      new Date(now),
      limit,
    ]);
    return r.rows.map(fromRow);
  }

  /** Deletes those of `ids` that are the recipient's own; returns how many went. */
  async ack(recipient: string, ids: readonly string[]): Promise<number> {
    const r = await this.db.query('delete from mail where recipient = $1 and id = any($2)', [recipient, [...new Set(ids)]]);
    return r.rowCount;
  }

  /** Deletes expired messages (in batches, so a big backlog never holds one long lock); returns how many. */
  async purge(now = Date.now()): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await this.db.query('delete from mail where id in (select id from mail where expires_at <= $1 limit $2)', [new Date(now), PURGE_BATCH]);
      total += r.rowCount;
      if (r.rowCount < PURGE_BATCH) return total;
    }
  }
}
