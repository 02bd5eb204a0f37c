import { CloseCode, type EventName } from '@foyer/client-sdk';
import { describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { nextState, useCluster, within } from '../helpers/cluster.js';

const cluster = useCluster({ env: { FOYER_RECONNECT_GRACE_MS: '200' } });

const SOCIAL: EventName[] = ['friends.changed', 'presence.changed', 'mail.received', 'chat.message'];

// Friends, presence, mail and operator commands reach a user wherever their session is.
describe('cluster: friends, presence, mail and admin across nodes', () => {
  it('a friendship between n1 and n2 works both ways, presence follows, mail arrives live, and a kick from n3 reaches n2', async () => {
    const c = cluster();
    const a = await c.guest(0, 'Amy');
    const b = await c.guest(1, 'Ben');
    const [aId, bId] = [a.userId!, b.userId!];
    const ia = new Inbox(a, SOCIAL);
    const ib = new Inbox(b, SOCIAL);

    await a.call('friends.request', { userId: bId });
    const asked = await within(ib.next('friends.changed', (d) => d.friend.userId === aId), 5000, 'B on n2 hears of the request from n1');
    expect(asked.friend.state).toBe('requestReceived');
    await b.call('friends.accept', { userId: aId });
    const accepted = await within(ia.next('friends.changed', (d) => d.friend.userId === bId && d.friend.state === 'friend'), 5000, 'A on n1 hears B accept');
    expect(accepted.removed).toBe(false);
    // A's list on n1 shows B online on n2.
    expect((await a.call('friends.list', {})).friends).toMatchObject([{ userId: bId, state: 'friend', presence: { status: 'online' } }]);

    // B's game on n2 shows in A's presence view on n1.
    await b.call('game.create', { name: 'Ben plays', gameType: 'social' });
    const inGame = await within(ia.next('presence.changed', (d) => d.userId === bId && d.presence.status === 'inGame'), 5000, 'A sees B in a game');
    expect(inGame.name).toBe('Ben');
    expect((await a.call('friends.list', {})).friends[0]?.presence?.status).toBe('inGame');

    // Mail from n1 reaches B on n2 live.
    const sent = await a.call('mail.send', { to: [bId], body: 'hello from n1', clientMsgId: 'm1' });
    const mail = await within(ib.next('mail.received', (d) => d.mail.id === sent.sent[0]!.id), 5000, 'B on n2 gets the mail live');
    expect(mail.mail.body).toBe('hello from n1');

    // An operator on n3 kicks B, whose session is on n2.
    const closed = nextState(b, 'closed');
    const res = await c.nodes[2]!.admin('POST', '/admin/commands', { kind: 'kick', userId: bId, args: { reason: 'testing' }, mode: 'immediate' });
    expect(res.status).toBe(200);
    const { info } = await within(closed, 5000, 'B is kicked');
    expect(info.close?.code).toBe(CloseCode.KICKED);

    // B's session ended: A hears B go offline, across nodes.
    await within(ia.next('presence.changed', (d) => d.userId === bId && d.presence.status === 'offline'), 5000, 'A sees B offline');
    await c.checkInvariants();
  });
});
