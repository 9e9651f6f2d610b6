import { bucketStart, usagePoint, type Reading, type UsageCounters } from '../domain/usage.js';
import type { Environment } from '../domain/types.js';
import type { UsageSample } from '../db/repos/usage.js';
import { errorMessage } from '../lib/errors.js';
import type { Context } from '../core/context.js';

export const SAMPLER = {
  /**
   * Stats reads in flight per node at once. Docker answers a one-shot read at its stats
   * collector's next tick (up to a second later), so reads mostly wait: 8 at once read
   * 30 environments in about 4 s, and leave most of a node's calls (the panel's own work may
   * have half of them, see docker/node-gate.ts) to everyone else.
   */
  concurrency: 8,
  /** A node's pass starts no new read after this long (each read also has the client's own deadline). */
  passDeadlineMs: 30_000,
  /** Samples are kept this long, so the last 24 hours are always there. */
  keepSeconds: 25 * 3600,
  purgeEveryMs: 3600_000,
};

export interface UsageSampler {
  /** Stops the timer and waits (bounded) for passes in flight, so the database can close after. */
  stop(): Promise<void>;
  /** One pass over every online node, now; resolves with the number of samples recorded. */
  sampleOnce(): Promise<number>;
}

/**
 * Records each running environment's CPU, memory and network use once per interval.
 * Every node is read on its own, in parallel, so an offline or hung node delays nobody
 * else; a node whose previous pass is still going is skipped. Docker is asked for a
 * one-shot read (cumulative counters, no waiting for its second sample) and the figures
 * of the interval are the differences from this sampler's previous read.
 * `schedule: false` starts no timer: passes run only when sampleOnce() is called.
 */
export function startUsageSampler(ctx: Context, opts: { schedule?: boolean } = {}): UsageSampler {
  const interval = ctx.config.usageIntervalSeconds;
  const previous = new Map<string, Reading & { nodeId: string }>();
  const busy = new Set<string>();
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let lastPurge = 0;
  // The context's logger type has no debug level; fastify's logger (what the app passes) does.
  const logger = ctx.log as Context['log'] & { debug?: (obj: object, msg: string) => void };
  const debug = (obj: object, msg: string): void => logger.debug?.(obj, msg);

  /** Reads one node's running environments, a few at a time, and records what it read. */
  async function sampleNode(nodeId: string): Promise<number> {
    const client = ctx.nodes.get(nodeId);
    // A node that stopped answering is left to the fleet watch until a heartbeat closes its breaker.
    if (client.breaker.open) return 0;
    const envs = ctx.repos.environments.byNode(nodeId).filter((e) => e.state === 'running' && e.containerId !== null);
    const deadline = Date.now() + Math.min(SAMPLER.passDeadlineMs, interval * 1000);
    const samples: UsageSample[] = [];
    const queue = [...envs];
    const worker = async (): Promise<void> => {
      for (let env = queue.shift(); env && !stopped && Date.now() < deadline; env = queue.shift()) {
        try {
          samples.push(record(env, nodeId, await client.statsOneShot(env.containerId!)));
        } catch (err) {
          previous.delete(env.id);
          debug({ environment: env.id, node: client.name, err: errorMessage(err) }, 'usage sample failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SAMPLER.concurrency, envs.length) }, worker));
    // Environments that stopped or left the node start afresh when they are back.
    const sampled = new Set(envs.map((e) => e.id));
    for (const [envId, r] of previous) if (r.nodeId === nodeId && !sampled.has(envId)) previous.delete(envId);
    if (stopped) return 0;
    ctx.repos.usage.insertMany(samples);
    return samples.length;
  }

  /** The interval's figures from this read and the one before; the read is kept for the next pass. */
  function record(env: Environment, nodeId: string, counters: UsageCounters): UsageSample {
    const takenAtMs = Date.now();
    const current: Reading = { containerId: env.containerId!, counters, takenAtMs };
    // Two intervals and a bit: one missed pass still gives a (longer) difference, a longer gap does not.
    const point = usagePoint(previous.get(env.id), current, (2 * interval + 5) * 1000);
    previous.set(env.id, { ...current, nodeId });
    return { environmentId: env.id, at: bucketStart(Math.floor(takenAtMs / 1000), interval), ...point };
  }

  function purge(): void {
    if (Date.now() - lastPurge < SAMPLER.purgeEveryMs) return;
    lastPurge = Date.now();
    const removed = ctx.repos.usage.purgeBefore(Math.floor(Date.now() / 1000) - SAMPLER.keepSeconds);
    if (removed > 0) ctx.log.info({ removed }, 'old usage samples purged');
  }

  async function sampleOnce(): Promise<number> {
    if (stopped) return 0;
    purge();
    const nodes = ctx.repos.nodes.all()
      .filter((n) => n.status === 'online' && n.state !== 'disabled' && !busy.has(n.id));
    const passes = nodes.map((n) => {
      busy.add(n.id);
      const pass = sampleNode(n.id)
        .catch((err: unknown) => {
          ctx.log.error({ node: n.name, err: errorMessage(err) }, 'usage pass failed');
          return 0;
        })
        .finally(() => {
          busy.delete(n.id);
          inFlight.delete(pass);
        });
      inFlight.add(pass);
      return pass;
    });
    return (await Promise.all(passes)).reduce((a, b) => a + b, 0);
  }

  /** Ticks just after each interval starts, so every interval gets one sample. */
  function schedule(): void {
    if (stopped) return;
    const nextMs = (bucketStart(Date.now() / 1000, interval) + interval) * 1000 + 250;
    timer = setTimeout(() => {
      timer = null;
      sampleOnce().catch((err: unknown) => ctx.log.error({ err: errorMessage(err) }, 'usage sampling failed'));
      schedule();
    }, nextMs - Date.now());
    timer.unref();
  }
  if (opts.schedule !== false) schedule();

  return {
    sampleOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 3000).unref())]);
    },
  };
}
