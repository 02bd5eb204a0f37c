import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per node, so several nodes in one process (tests) never share counters. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'foyer_process_' });
  return {
    registry,
    connections: new Gauge({ name: 'foyer_connections', help: 'Open WebSocket connections.', registers: [registry] }),
    sessions: new Gauge({ name: 'foyer_sessions', help: 'Sessions on this node, connected or within their reconnect grace.', registers: [registry] }),
    requests: new Counter({
      name: 'foyer_requests_total',
      help: 'Requests by op and outcome (ok or the error code).',
      labelNames: ['op', 'outcome'] as const,
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'foyer_request_duration_seconds',
      help: 'Time from a request frame to its reply, by op.',
      labelNames: ['op'] as const,
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    events: new Counter({ name: 'foyer_events_delivered_total', help: 'Event frames handed to sessions.', registers: [registry] }),
    closes: new Counter({ name: 'foyer_closes_total', help: 'Connections the server closed, by reason.', labelNames: ['reason'] as const, registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
