import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Repos } from '../db/index.js';
import type { UpdateBus } from './updates.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface Metrics {
  registry: Registry;
  dockerCall(node: string, call: string, ms: number, failed: boolean): void;
  eventsReconnect(node: string): void;
  /** Milliseconds from Docker emitting a container event to the panel applying it. */
  eventLag(node: string, ms: number): void;
}

/**
 * The panel's Prometheus metrics. Fleet figures are read from the panel's own database
 * at scrape time (never from the nodes); call latencies and operation durations are
 * recorded as they happen.
 */
export function createMetrics(repos: Repos, updates: UpdateBus): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kura_' });
  const nodeName = () => new Map(repos.nodes.all().map((n) => [n.id, n.name]));

  new Gauge({
    name: 'kura_environments', help: 'Environments by state and node', labelNames: ['state', 'node'], registers: [registry],
    collect() {
      this.reset();
      const names = nodeName();
      const rows = repos.db.prepare('SELECT node_id, state, COUNT(*) AS n FROM environments GROUP BY node_id, state').all() as
        { node_id: string; state: string; n: number }[];
      for (const r of rows) this.set({ state: r.state, node: names.get(r.node_id) ?? r.node_id }, r.n);
    },
  });
  new Gauge({
    name: 'kura_node_capacity', help: 'What a node can hold after overcommit (cpus, memory_mb, disk_mb, environments)',
    labelNames: ['node', 'resource'], registers: [registry],
    collect() {
      this.reset();
      for (const n of repos.nodes.all()) {
        this.set({ node: n.name, resource: 'cpus' }, n.capacity.cpus * n.cpuOvercommit);
        this.set({ node: n.name, resource: 'memory_mb' }, Math.floor(n.capacity.memoryMb * n.memoryOvercommit));
        if (n.capacity.diskMb !== null) this.set({ node: n.name, resource: 'disk_mb' }, n.capacity.diskMb);
        this.set({ node: n.name, resource: 'environments' }, n.maxEnvironments);
      }
    },
  });
  new Gauge({
    name: 'kura_node_allocated', help: 'What environments have reserved on a node', labelNames: ['node', 'resource'], registers: [registry],
    collect() {
      this.reset();
      const alloc = repos.nodes.allocations();
      for (const n of repos.nodes.all()) {
        const a = alloc.get(n.id) ?? { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 };
        this.set({ node: n.name, resource: 'cpus' }, a.cpus);
        this.set({ node: n.name, resource: 'memory_mb' }, a.memoryMb);
        this.set({ node: n.name, resource: 'disk_mb' }, a.diskMb);
        this.set({ node: n.name, resource: 'environments' }, a.environments);
      }
    },
  });
  new Gauge({
    name: 'kura_node_up', help: '1 when the node answers its heartbeat', labelNames: ['node', 'state'], registers: [registry],
    collect() {
      this.reset();
      for (const n of repos.nodes.all()) this.set({ node: n.name, state: n.state }, n.status === 'online' ? 1 : 0);
    },
  });

  const opDuration = new Histogram({
    name: 'kura_operation_duration_seconds', help: 'Operation durations by kind and outcome', labelNames: ['kind', 'status'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [registry],
  });
  updates.subscribe((e) => {
    if (e.type !== 'operation' || !TERMINAL.has(String(e.data.status))) return;
    const seconds = (Date.parse(String(e.data.updatedAt)) - Date.parse(String(e.data.createdAt))) / 1000;
    if (Number.isFinite(seconds)) opDuration.observe({ kind: String(e.data.kind), status: String(e.data.status) }, seconds);
  });
  const dockerLatency = new Histogram({
    name: 'kura_docker_call_seconds', help: 'Docker API call latency per node and call', labelNames: ['node', 'call'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15], registers: [registry],
  });
  const dockerErrors = new Counter({
    name: 'kura_docker_call_errors_total', help: 'Docker API calls that failed, per node and call', labelNames: ['node', 'call'], registers: [registry],
  });
  const reconnects = new Counter({
    name: 'kura_events_stream_reconnects_total', help: 'Times a node\'s Docker events stream was reopened', labelNames: ['node'], registers: [registry],
  });

  const lag = new Histogram({
    name: 'kura_event_lag_seconds', help: 'Time from Docker emitting a container event to the panel receiving it',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5], registers: [registry],
  });

  return {
    registry,
    eventLag(_node, ms) {
      lag.observe(Math.max(0, ms) / 1000);
    },
    dockerCall(node, call, ms, failed) {
      dockerLatency.observe({ node, call }, ms / 1000);
      if (failed) dockerErrors.inc({ node, call });
    },
    eventsReconnect(node) {
      reconnects.inc({ node });
    },
  };
}
