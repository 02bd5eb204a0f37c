import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

/** A bare socket that keeps every frame as the exact text the server sent. */
class Tap {
  readonly ws: WebSocket;
  readonly texts: string[] = [];
  private id = 0;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(`${url}/?v=2`);
    this.opened = new Promise((resolve) => this.ws.once('open', () => resolve()));
    this.ws.on('message', (data) => this.texts.push(String(data)));
  }

  async request(op: string, data: unknown = {}): Promise<any> {
    await this.opened;
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, op, data }));
    await until(() => this.texts.some((t) => JSON.parse(t).re === id));
    return JSON.parse(this.texts.find((t) => JSON.parse(t).re === id)!);
  }

  /** The event frames of one stream, as sent. */
  of(stream: string): string[] {
    return this.texts.filter((t) => JSON.parse(t).stream === stream);
  }
}

describe('streams on the wire', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(() => t.stop());

  it('every subscriber of a stream receives the byte-identical frame, numbered one by one', async () => {
    const taps = [new Tap(t.url), new Tap(t.url), new Tap(t.url)];
    const ids: string[] = [];
    for (const [i, tap] of taps.entries()) ids.push((await tap.request('auth.guest', { name: `Tap${i}` })).data.userId);
    const game = (await taps[0]!.request('game.create', { name: 'Bytes', gameType: 'bytes' })).data.game;
    await taps[1]!.request('game.join', { gameId: game.id });
    await taps[2]!.request('game.join', { gameId: game.id, spectate: true });
    // The same filter is the same list stream for everyone.
    const subs = await Promise.all(taps.map((tap) => tap.request('games.subscribe', { filter: { gameType: 'bytes-list' } })));
    const list = subs[0].data.subscriptionId;
    expect(subs.map((s) => s.data.subscriptionId)).toEqual([list, list, list]);

    const stream = `game:${game.id}`;
    const before = taps.map((tap) => tap.of(stream).length);
    await taps[0]!.request('chat.send', { channel: 'game', text: 'same bytes for all' });
    await taps[1]!.request('game.setReady', { ready: true });
    const host = await t.guest('ListHost');
    await host.call('game.create', { name: 'Listed', gameType: 'bytes-list' });
    await until(() => taps.every((tap, i) => tap.of(stream).length >= before[i]! + 2 && tap.of(list).length >= 1));

    const gameFrames = taps.map((tap, i) => tap.of(stream).slice(before[i]));
    expect(gameFrames[1]).toEqual(gameFrames[0]);
    expect(gameFrames[2]).toEqual(gameFrames[0]);
    const [chat, ready] = gameFrames[0]!.map((f) => JSON.parse(f));
    expect(chat).toMatchObject({ ev: 'chat.message', stream, data: { text: 'same bytes for all' } });
    expect(ready).toMatchObject({ ev: 'game.playerUpdated', stream, offset: chat.offset + 1, epoch: chat.epoch });
    const listFrames = taps.map((tap) => tap.of(list));
    expect(listFrames[1]).toEqual(listFrames[0]);
    expect(listFrames[2]).toEqual(listFrames[0]);
    expect(JSON.parse(listFrames[0]![0]!)).toMatchObject({ ev: 'games.added', stream: list, offset: 1, data: { subscriptionId: list, game: { name: 'Listed' } } });
    for (const tap of taps) tap.ws.terminate();
  });

  it('a request without id gets no reply when it succeeds, and a refusal naming its op (re: null) when not', async () => {
    const tap = new Tap(t.url);
    await tap.request('auth.guest', { name: 'NoId' });
    const host = await t.guest('NoIdHost');
    const { game } = await host.call('game.create', { name: 'Fire and forget', gameType: 'fnf' });
    await tap.request('game.join', { gameId: game.id });
    const lines: string[] = [];
    host.on('chat.message', (d) => lines.push(d.text));
    tap.ws.send(JSON.stringify({ op: 'chat.send', data: { channel: 'game', text: 'no answer wanted' } }));
    tap.ws.send(JSON.stringify({ op: 'chat.send', data: { channel: 'party', text: 'not in one' } }));
    const done = await tap.request('session.ping');
    await until(() => lines.length === 1);
    expect(lines).toEqual(['no answer wanted']);
    const replies = tap.texts.map((x) => JSON.parse(x)).filter((f) => 're' in f && f.re !== done.re);
    expect(replies.filter((f) => f.re === null)).toEqual([
      { re: null, ok: false, error: { code: 'NOT_IN_PARTY', message: expect.any(String), op: 'chat.send' } },
    ]);
    tap.ws.terminate();
  });

  it('the SDK sends without id (send) and hands refusals to onRefusal', async () => {
    const a = await t.guest('Sender');
    const b = await t.guest('Hearer');
    const { game } = await a.call('game.create', { name: 'Send', gameType: 'send' });
    await b.call('game.join', { gameId: game.id });
    const heard: string[] = [];
    b.on('chat.message', (d) => heard.push(d.text));
    const refused: [string, string][] = [];
    a.onRefusal((op, error) => refused.push([op, error.code]));
    a.send('chat.send', { channel: 'game', text: 'hello' });
    a.send('chat.send', { channel: 'party', text: 'nobody' });
    await until(() => heard.length === 1 && refused.length === 1);
    expect(heard).toEqual(['hello']);
    expect(refused).toEqual([['chat.send', 'NOT_IN_PARTY']]);
  });

  it('a player\'s session key reaches that player only, on their user stream', async () => {
    const taps = [new Tap(t.url), new Tap(t.url), new Tap(t.url)];
    const ids: string[] = [];
    for (const [i, tap] of taps.entries()) ids.push((await tap.request('auth.guest', { name: `Key${i}` })).data.userId);
    const game = (await taps[0]!.request('game.create', { name: 'Keys', gameType: 'keys' })).data.game;
    await taps[1]!.request('game.join', { gameId: game.id });
    await taps[2]!.request('game.join', { gameId: game.id, spectate: true });
    await taps[0]!.request('game.start');
    await until(() => taps[0]!.texts.some((x) => x.includes('game.sessionKey')) && taps[1]!.texts.some((x) => x.includes('game.sessionKey')) && taps[2]!.of(`game:${game.id}`).some((x) => x.includes('game.started')));
    const keys = taps.map((tap) => tap.texts.map((x) => JSON.parse(x)).filter((f) => f.ev === 'game.sessionKey'));
    expect(keys[0]).toEqual([expect.objectContaining({ stream: `user:${ids[0]}`, data: expect.objectContaining({ gameId: game.id }) })]);
    expect(keys[1]).toEqual([expect.objectContaining({ stream: `user:${ids[1]}` })]);
    expect(keys[2]).toEqual([]);
    // No key anywhere but in its owner's own frame.
    for (const [i, key] of [keys[0]![0].data.sessionKey, keys[1]![0].data.sessionKey].entries()) {
      for (const [j, tap] of taps.entries()) expect(tap.texts.filter((x) => x.includes(key)).length).toBe(i === j ? 1 : 0);
    }
    for (const tap of taps) tap.ws.terminate();
  });
});
