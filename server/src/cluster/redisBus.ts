import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BusDown, type Bus } from './bus.js';

// Compare-and-set in one step: ARGV[1] expected ('' = absent), ARGV[2] next ('' = delete), ARGV[3] ttl ms (0 = none).
const CAS = `
local cur = redis.call('GET', KEYS[1])
if (ARGV[1] == '' and cur ~= false) or (ARGV[1] ~= '' and cur ~= ARGV[1]) then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1])
elseif ARGV[3] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

/**
 * The cluster bus on Redis (ioredis): one connection for commands and
 * publishing, one for subscriptions. Commands fail at once while Redis is
 * away (no offline queue: a caller must learn now, not when Redis is back);
 * both connections retry forever, and the bus reports itself up again only
 * once every channel is subscribed anew.
 */
export class RedisBus implements Bus {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Map<string, ((message: string) => void)[]>();
  private readonly listeners: ((up: boolean) => void)[] = [];
  private cmdReady = false;
  private subReady = false;
  private reported = false;
  private closed = false;

  constructor(url: string, private readonly log: Logger) {
    const options = {
      enableOfflineQueue: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(50 * times, 500),
    };
    this.cmd = new Redis(url, options);
    this.sub = new Redis(url, options);
    for (const [conn, which] of [[this.cmd, 'cmd'], [this.sub, 'sub']] as const) {
      conn.on('error', (err: Error) => this.log.debug({ err: err.message, conn: which }, 'redis error'));
      conn.on('close', () => this.setReady(which, false));
    }
    this.cmd.on('ready', () => this.setReady('cmd', true));
    this.sub.on('ready', () => void this.resubscribe());
    this.sub.on('message', (channel: string, message: string) => {
      for (const fn of this.handlers.get(channel) ?? []) fn(message);
    });
  }

  /** Connects both; resolves once up (rejects if the first connect fails). */
  async connect(): Promise<void> {
    await Promise.all([this.cmd.connect(), this.sub.connect()]);
    await new Promise<void>((resolve) => (this.up ? resolve() : this.listeners.push(function once(up) { if (up) resolve(); })));
  }

  get up(): boolean {
    return this.cmdReady && this.subReady;
  }

  onStatus(fn: (up: boolean) => void): void {
    this.listeners.push(fn);
  }

  private async resubscribe(): Promise<void> {
    try {
      const channels = [...this.handlers.keys()];
      if (channels.length) await this.sub.subscribe(...channels);
      this.setReady('sub', true);
    } catch (err) {
      this.log.warn({ err }, 'redis resubscribe failed; retrying on the next reconnect');
    }
  }

  private setReady(which: 'cmd' | 'sub', ready: boolean): void {
    if (which === 'cmd') this.cmdReady = ready;
    else this.subReady = ready;
    if (this.closed || this.up === this.reported) return;
    this.reported = this.up;
    for (const fn of [...this.listeners]) fn(this.up);
  }

  publish(channel: string, message: string): void {
    if (!this.up) throw new BusDown();
    this.cmd.publish(channel, message).catch((err: Error) => this.log.warn({ err: err.message, channel }, 'redis publish failed'));
  }

  async subscribe(channel: string, fn: (message: string) => void): Promise<void> {
    const list = this.handlers.get(channel);
    if (list) return void list.push(fn);
    this.handlers.set(channel, [fn]);
    if (this.subReady) await this.sub.subscribe(channel);
  }

  async get(key: string): Promise<string | null> {
    this.check();
    return this.cmd.get(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.check();
    if (ttlMs) await this.cmd.set(key, value, 'PX', ttlMs);
    else await this.cmd.set(key, value);
  }

  async cas(key: string, expect: string | null, next: string | null, ttlMs?: number): Promise<boolean> {
    this.check();
    return (await this.cmd.eval(CAS, 1, key, expect ?? '', next ?? '', String(ttlMs ?? 0))) === 1;
  }

  async keys(prefix: string): Promise<string[]> {
    this.check();
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.cmd.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return out;
  }

  private check(): void {
    if (!this.cmdReady) throw new BusDown();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
