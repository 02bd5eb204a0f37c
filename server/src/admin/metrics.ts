import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BusTraffic } from '../cluster/redisBus.js';
import { LoopDelay, UNUSED_SAMPLER_MS } from './loopDelay.js';
import { RequestMetrics } from './requestMetrics.js';

/** One registry per node, so several nodes in one process (tests) never share counters. */
export function createMetrics() {
  const registry = new Registry();
  // The defaults are named process_* and nodejs_* already: the prefix makes them foyer_process_*, foyer_nodejs_*.
  collectDefaultMetrics({ register: registry, prefix: 'foyer_', eventLoopMonitoringPrecision: UNUSED_SAMPLER_MS });
  const requests = new Counter({
    name: 'foyer_requests_total',
    help: 'Requests by op and outcome (ok or the error code).',
    labelNames: ['op', 'outcome'] as const,
    registers: [registry],
  });
  return {
    registry,
    /** The event loop's delay figures, sampled while the gateway says so (loopDelay.ts). */
    loopDelay: new LoopDelay(registry, 'foyer_'),
    connections: new Gauge({ name: 'foyer_connections', help: 'Open WebSocket connections.', registers: [registry] }),
    sessions: new Gauge({ name: 'foyer_sessions', help: 'Sessions on this node, connected or within their reconnect grace.', registers: [registry] }),
    requests,
    /** Each request counted (foyer_requests_total) and timed (foyer_request_duration_seconds): record() here, never requests.inc. */
    requestTally: new RequestMetrics(registry, requests, 'foyer_request_duration_seconds', 'Time from a request frame to its reply, by op.', [
      0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
    ]),
    events: new Counter({ name: 'foyer_events_delivered_total', help: 'Event frames handed to sessions.', registers: [registry] }),
    closes: new Counter({ name: 'foyer_closes_total', help: 'Connections the server closed, by reason (the WebSocket close code; 4006 also counts those uWebSockets.js cut for silence).', labelNames: ['reason'] as const, registers: [registry] }),
    games: new Gauge({
      name: 'foyer_games',
      help: 'Games owned by this node (a cluster\'s total is the sum over its nodes), by state: open (not started) or inProgress.',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    queued: new Gauge({
      name: 'foyer_mm_queued_players',
      help: 'Players waiting in each queue this node owns (queued or in the accept phase); a queue is held by its owner alone.',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    waitSeconds: new Histogram({
      name: 'foyer_mm_wait_seconds',
      help: 'Time from entering the queue to a ready match, per player.',
      labelNames: ['queue'] as const,
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    matches: new Counter({ name: 'foyer_mm_matches_total', help: 'Matches made (everyone accepted).', labelNames: ['queue'] as const, registers: [registry] }),
    ratingSpread: new Histogram({
      name: 'foyer_mm_team_rating_gap',
      help: 'Gap between the highest and lowest team mean rating of a ready match.',
      labelNames: ['queue'] as const,
      buckets: [0, 10, 25, 50, 100, 200, 400, 800],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The Redis bus's pub/sub traffic (foyer_bus_messages_total and
 * foyer_bus_bytes_total by direction) and its reads (foyer_bus_reads_total): what a node carries for the cluster,
 * read from the bus's plain counts when /metrics is scraped.
 */
export function registerBusMetrics(registry: Registry, traffic: Readonly<BusTraffic>): void {
  const counter = (name: string, help: string, read: (direction: 'published' | 'received') => number) =>
    new Counter({
      name,
      help,
      labelNames: ['direction'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const direction of ['published', 'received'] as const) this.inc({ direction }, read(direction));
      },
    });
  counter('foyer_bus_messages_total', 'Pub/sub messages through Redis: published by this node, or received by its subscriber connection(s).', (d) =>
    d === 'published' ? traffic.publishedMessages : traffic.receivedMessages,
  );
  counter('foyer_bus_bytes_total', 'Payload bytes (UTF-8) of those messages.', (d) => (d === 'published' ? traffic.publishedBytes : traffic.receivedBytes));
  new Counter({
    name: 'foyer_bus_reads_total',
    help: 'Round trips to Redis that read keys: a GET, an SMEMBERS, or a batch of them (one MGET or pipeline; on a Redis Cluster one per master).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(traffic.reads);
    },
  });
}

/** Casts and calls this node received from the others, by kind (`Cluster.received`): which parts of the lobby send it traffic. */
export function registerClusterMetrics(registry: Registry, received: ReadonlyMap<string, number>): void {
  new Counter({
    name: 'foyer_cluster_messages_total',
    help: 'Cluster messages (casts and calls) this node received from other nodes, by kind (queue.owner, mm.ticket, user.event, …).',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, n] of received) this.inc({ kind }, n);
    },
  });
}
