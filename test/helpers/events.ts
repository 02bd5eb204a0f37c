import { eventsOf, type EventData, type EventName, type LobbyClient } from '@foyer/client-sdk';

/**
 * Records every event a client receives, so a test can await the one it
 * expects (already arrived or still to come) instead of sleeping.
 */
/** One event as received: its name and the data the protocol gives that name. */
export type Received = { [E in EventName]: { ev: E; data: EventData<E> } }[EventName];

export class Inbox {
  readonly seen: Received[] = [];
  private waiters: { ev: EventName; pred: (d: Received['data']) => boolean; resolve: (d: Received['data']) => void }[] = [];

  constructor(client: LobbyClient, events: EventName[]) {
    for (const ev of events) {
      client.on(ev, (data) => {
        this.seen.push({ ev, data } as Received);
        this.waiters = this.waiters.filter((w) => (w.ev === ev && w.pred(data) ? (w.resolve(data), false) : true));
      });
    }
  }

  /** The first `ev` matching `pred`, from what arrived or what comes next. */
  next<E extends EventName>(ev: E, pred: (d: EventData<E>) => boolean = () => true): Promise<EventData<E>> {
    // `ev` matched, so the data is that event's: the casts only say what the protocol table already does.
    const test = (d: Received['data']) => pred(d as EventData<E>);
    const hit = this.seen.find((s) => s.ev === ev && test(s.data));
    if (hit) return Promise.resolve(hit.data as EventData<E>);
    return new Promise((resolve) => this.waiters.push({ ev, pred: test, resolve: (d) => resolve(d as EventData<E>) }));
  }

  of<E extends EventName>(ev: E): EventData<E>[] {
    return this.seen.filter((s) => s.ev === ev).map((s) => s.data as EventData<E>);
  }
}

export const GAME_EVENTS: EventName[] = [...eventsOf('game'), ...eventsOf('games'), 'chat.message'];

/** Polls a condition the test cannot be notified of (server-side state), bounded by the test timeout. */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

/** Resolves with the close code once the client is closed for good. */
export const closedWith = (c: LobbyClient) => new Promise<number | undefined>((resolve) => c.onState((s, info) => s === 'closed' && resolve(info.close?.code)));
