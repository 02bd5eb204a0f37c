import type { Db } from './db.js';

/**
 * The schema, as an append-only list: a migration, once released, is never
 * edited; a change is a new entry. Each runs in its own transaction, under an
 * advisory lock so nodes starting together apply it once.
 */
export const migrations: { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: 'accounts',
    sql: `
      create table accounts (
        id text primary key,
        kind text not null check (kind in ('guest', 'named', 'external')),
        name text not null,
        -- lower(name) of named accounts: display names are unique, case-insensitively
        name_key text,
        password_hash text,
        -- sha256 of a guest's device secret (a random 32-byte value, so no salt is needed)
        device_key text unique,
        external_subject text unique,
        rating_mu double precision not null default 25,
        rating_sigma double precision not null default 8.333333333333334,
        level integer not null default 1,
        school text,
        side text,
        custom jsonb not null default '{}',
        role text not null default 'player' check (role in ('player', 'moderator', 'admin')),
        banned_until timestamptz,
        ban_reason text,
        chat_banned_until timestamptz,
        created_at timestamptz not null default now(),
        last_login_at timestamptz
      );
      create unique index accounts_name_key on accounts (name_key) where name_key is not null;
    `,
  },
  {
    id: 2,
    name: 'friends',
    sql: `
      -- A row is user_id's side of a pair: 'requested' = user_id asked other_id;
      -- 'friends' is kept as two rows, one per side; 'blocked' = user_id blocked
      -- other_id, one-directional (the blocked side has no row and sees nothing).
      -- The list of X is X's own rows (primary key) plus requests to X (partial index).
      create table friendships (
        user_id text not null references accounts (id) on delete cascade,
        other_id text not null references accounts (id) on delete cascade,
        state text not null check (state in ('requested', 'friends', 'blocked')),
        created_at timestamptz not null default now(),
        primary key (user_id, other_id),
        check (user_id <> other_id)
      );
      create index friendships_requests_to on friendships (other_id) where state = 'requested';
    `,
  },
  {
    id: 3,
    name: 'mail',
    sql: `
      -- one row per recipient; acknowledged mail is deleted, expired mail is purged
      create table mail (
        id text primary key,
        -- insertion order: "oldest first" even within one millisecond
        seq bigint generated always as identity,
        recipient text not null references accounts (id) on delete cascade,
        -- '<project>:<userId>', or 'system:<project>' for operators
        sender text not null,
        sender_name text not null,
        body text not null check (char_length(body) <= 2000),
        client_msg_id text not null,
        sent_at timestamptz not null,
        expires_at timestamptz not null,
        -- a resend (same sender, client id and recipient) changes nothing
        unique (sender, client_msg_id, recipient)
      );
      create index mail_inbox on mail (recipient, seq);
      create index mail_expiry on mail (expires_at);
    `,
  },
  {
    id: 4,
    name: 'admin and matches',
    sql: `
      -- Deferred admin commands: run at the player's next login (or at once if online), deleted when run, never after expires_at.
      create table admin_commands (
        id text primary key,
        seq bigserial not null,
        user_id text not null references accounts (id) on delete cascade,
        kind text not null,
        args jsonb not null,
        issued_by text not null,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null
      );
      create index admin_commands_user on admin_commands (user_id, seq);
      -- Every admin command run (and refusal, queueing, expiry), newest last.
      create table admin_audit (
        id bigserial primary key,
        at timestamptz not null default now(),
        actor text not null,
        user_id text not null,
        kind text not null,
        args jsonb not null,
        mode text not null check (mode in ('immediate', 'deferred')),
        -- ran: executed; queued: stored for later; refused: not allowed; expired: dropped unexecuted; cancelled: deleted by an operator
        event text not null check (event in ('ran', 'queued', 'refused', 'expired', 'cancelled')),
        command_id text,
        ok boolean not null,
        error text,
        result jsonb
      );
      create index admin_audit_user on admin_audit (user_id, id);
      -- Match results reported by game servers: one row per match id, the report kept to tell a replay from a conflict.
      create table match_results (
        match_id text primary key,
        game_type text not null,
        report jsonb not null,
        reported_at timestamptz not null default now()
      );
      create table match_players (
        match_id text not null references match_results (match_id) on delete cascade,
        user_id text not null references accounts (id) on delete cascade,
        team_index integer not null,
        rank integer not null,
        mu_before double precision not null,
        sigma_before double precision not null,
        mu_after double precision not null,
        sigma_after double precision not null,
        reported_at timestamptz not null,
        primary key (match_id, user_id)
      );
      create index match_players_history on match_players (user_id, reported_at desc);
    `,
  },
];

const LOCK = 74_656_572; // "Foyer" migrations

export async function migrate(db: Db): Promise<number[]> {
  // Under the lock too: nodes starting together on a fresh database would race to create it.
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [LOCK]);
    await tx.query('create table if not exists schema_migrations (id integer primary key, name text not null, applied_at timestamptz not null default now())');
  });
  const applied: number[] = [];
  for (const m of migrations) {
    const ran = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [LOCK]);
      const done = await tx.query('select 1 from schema_migrations where id = $1', [m.id]);
      if (done.rowCount) return false;
      await tx.exec(m.sql);
      await tx.query('insert into schema_migrations (id, name) values ($1, $2)', [m.id, m.name]);
      return true;
    });
    if (ran) applied.push(m.id);
  }
  return applied;
}
