import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config.js';

describe('FOYER_REDIS_CLUSTER', () => {
  it('takes seed nodes as host:port,host:port', () => {
    const c = loadConfig([], { FOYER_REDIS_CLUSTER: '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002' });
    expect(c.redisCluster).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(c.redisUrl).toBeUndefined();
    expect(loadConfig([], {}).redisCluster).toBeUndefined();
  });

  it('refuses an entry that is not host:port, naming it', () => {
    for (const bad of ['10.0.0.1', '10.0.0.1:0', 'a:70000', 'redis://a:7000', 'a:7000,,b:7001', 'a:x']) {
      expect(() => loadConfig([], { FOYER_REDIS_CLUSTER: bad }), bad).toThrow(ConfigError);
    }
    expect(() => loadConfig([], { FOYER_REDIS_CLUSTER: 'a:7000,b' })).toThrow(/FOYER_REDIS_CLUSTER.*"b" is not host:port/);
  });

  it('is one Redis or a Redis Cluster, not both', () => {
    expect(() => loadConfig([], { REDIS_URL: 'redis://127.0.0.1:6379', FOYER_REDIS_CLUSTER: '127.0.0.1:7000' })).toThrow(/REDIS_URL and FOYER_REDIS_CLUSTER are both set/);
  });
});
